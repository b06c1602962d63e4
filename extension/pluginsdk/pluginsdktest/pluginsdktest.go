// Package pluginsdktest connects a plugin's tables to a pluginsdk.Client in the
// test's own process, over a real gRPC connection (go-plugin's
// TestPluginGRPCConn), so that a plugin's tests exercise the wire protocol without
// building and starting a process.
package pluginsdktest

import (
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/exechunt/exechunt/extension/pluginsdk"
)

// Connect serves tables on an in-process gRPC server and returns a client of it.
// Both are closed when the test ends.
func Connect(t testing.TB, tables ...pluginsdk.Table) pluginsdk.Client {
	t.Helper()
	if err := pluginsdk.Check(tables); err != nil {
		t.Fatal(err)
	}
	set := pluginsdk.VersionedPlugins(tables)[pluginsdk.ProtocolVersion]
	client, server := plugin.TestPluginGRPCConn(t, false, set)
	t.Cleanup(func() {
		_ = client.Close()
		server.Stop()
	})
	raw, err := client.Dispense(pluginsdk.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := raw.(pluginsdk.Client)
	if !ok {
		t.Fatalf("dispensed %T, not a pluginsdk.Client", raw)
	}
	return c
}
