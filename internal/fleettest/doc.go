// Package fleettest holds fleet-level integration tests: an in-process orchestrator
// with simulated osquery agents that answer with the offline engine over real corpus
// evidence.
package fleettest
