// Package pluginsdk is what a hunt-table plugin imports: a plugin is a separate
// executable that serves one or more osquery tables to exechunt (the extension
// exechunt.ext and the offline engine of `exechunt sql|scan`) over gRPC, through
// github.com/hashicorp/go-plugin.
//
// A plugin's main is one call:
//
//	func main() {
//		pluginsdk.Serve(pluginsdk.NewTable("my_table", columns, generate,
//			pluginsdk.WithDescription("what one row is")))
//	}
//
// A table is osquery-go's table contract (columns + generate(ctx, query context) →
// rows), so a table written for an osquery-go extension moves into a plugin as it
// is. The contract of the wire is pluginproto/tables.proto; the host side (Client,
// VersionedPlugins) is here too so that both ends are built from one package.
//
// Errors keep their kind across the process boundary: wrap ErrInvalidArgument,
// ErrNotFound or ErrUnavailable (fmt.Errorf("%w: ...", pluginsdk.ErrInvalidArgument))
// and the host sees an error for which errors.Is with the same sentinel is true.
//
// Versioning: the host and the plugin negotiate a protocol version in go-plugin's
// handshake (VersionedPlugins). This SDK speaks ProtocolVersion; a host that does
// not speak it refuses the plugin with a message naming both sides' versions.
// Within one protocol version the protocol only grows, so a plugin built with an
// older SDK of the same protocol version keeps working with a newer host.
//
// The how-to is docs/plugins.md.
package pluginsdk

import (
	"github.com/hashicorp/go-plugin"
)

// ProtocolVersion is the plugin protocol version this SDK speaks
// (pluginproto/tables.proto, package exechunt.plugin.v1).
const ProtocolVersion = 1

// Version is the SDK's own version; a plugin reports it to the host, which logs it.
const Version = "1.0.0"

// PluginName is the name of the tables plugin in go-plugin's plugin set.
const PluginName = "tables"

// Handshake is the go-plugin handshake shared by exechunt and its plugins. The
// magic cookie only keeps a plugin from being run by hand by mistake (it then says
// it is a plugin and exits); it is not a security measure: the host verifies each
// plugin's SHA-256 before it runs it.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "EXECHUNT_PLUGIN",
	MagicCookieValue: "exechunt-hunt-tables-0c5d7e2a",
}

// VersionedPlugins is the plugin set for each protocol version this SDK speaks,
// for go-plugin's ClientConfig and ServeConfig. impl is the tables to serve (nil on
// the host side).
func VersionedPlugins(impl []Table) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {PluginName: &grpcPlugin{tables: impl}},
	}
}
