// Package pluginproto is the generated gRPC code of the exechunt plugin protocol
// (tables.proto). Plugin authors do not use it directly: pluginsdk serves it and
// exechunt's plugin host calls it. Regenerate with `make proto`.
package pluginproto
