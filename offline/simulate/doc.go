// Package simulate is a fleet of simulated osquery agents answering from evidence:
// the third host of the tables (after the extension and `exechunt sql|scan`), seen
// by the orchestrator through osquery's real TLS remote API. Package agentsim
// speaks the protocol; this package gives each simulated host its share of the
// evidence (or benign background) through the offline engine. It serves `exechunt
// simulate` and the end-to-end tests alike.
package simulate
