package pluginsdk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/osquery/osquery-go/plugin/table"
	"google.golang.org/grpc"

	"github.com/exechunt/exechunt/extension/pluginsdk/pluginproto"
)

// Serve serves tables to the exechunt process that started this plugin and never
// returns: the process exits when the host closes the connection or kills it.
// Invalid tables (see Check) make it print the problem and exit with status 1.
// Run by hand, the plugin prints that it must be started by exechunt and exits.
func Serve(tables ...Table) {
	if err := Check(tables); err != nil {
		fmt.Fprintf(os.Stderr, "exechunt plugin: %v\n", err)
		os.Exit(1)
	}
	go exitWithParent(os.Getppid())
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: VersionedPlugins(tables),
		GRPCServer:       plugin.DefaultGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "exechunt-plugin", Output: os.Stderr, Level: hclog.Warn, JSONFormat: true,
		}),
	})
}

// exitWithParent ends the plugin when the process that started it is gone (its
// parent pid changes: the plugin was re-parented), so that a host killed without
// a chance to stop its plugins does not leave them running. go-plugin has no such
// watch. Windows does not re-parent processes; there the host's job must do it.
func exitWithParent(ppid int) {
	for range time.Tick(time.Second) {
		if os.Getppid() != ppid {
			fmt.Fprintln(os.Stderr, "exechunt plugin: the host process is gone, exiting")
			os.Exit(0)
		}
	}
}

// ErrInvalidTable is wrapped by Check's errors.
var ErrInvalidTable = errors.New("invalid table")

// Check reports the first problem of a table list: none at all, a table without a
// name or columns, a duplicate table or column name.
func Check(tables []Table) error {
	if len(tables) == 0 {
		return fmt.Errorf("%w: a plugin must serve at least one table", ErrInvalidTable)
	}
	seen := map[string]bool{}
	for i, t := range tables {
		if t == nil {
			return fmt.Errorf("%w: table %d is nil", ErrInvalidTable, i)
		}
		name := t.Name()
		if name == "" {
			return fmt.Errorf("%w: table %d has no name", ErrInvalidTable, i)
		}
		if seen[name] {
			return fmt.Errorf("%w: table %s is given twice", ErrInvalidTable, name)
		}
		seen[name] = true
		if err := CheckSpec(specFromProto(specToProto(t))); err != nil {
			return err
		}
	}
	return nil
}

// CheckSpec reports the problem of one table schema: no name, no columns, an empty
// or duplicate column name.
func CheckSpec(s TableSpec) error {
	if s.Name == "" {
		return fmt.Errorf("%w: a table has no name", ErrInvalidTable)
	}
	if len(s.Columns) == 0 {
		return fmt.Errorf("%w: table %s has no columns", ErrInvalidTable, s.Name)
	}
	cols := map[string]bool{}
	for _, c := range s.Columns {
		if c.Name == "" || cols[c.Name] {
			return fmt.Errorf("%w: table %s: empty or duplicate column name %q", ErrInvalidTable, s.Name, c.Name)
		}
		cols[c.Name] = true
	}
	return nil
}

// grpcPlugin is go-plugin's GRPCPlugin for the tables service: the server side
// holds the tables, the client side is a Client.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	tables []Table
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginproto.RegisterTablesServer(s, newServer(p.tables))
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &grpcClient{c: pluginproto.NewTablesClient(c)}, nil
}

// server is the plugin's side of the tables service.
type server struct {
	pluginproto.UnimplementedTablesServer
	tables map[string]Table
	specs  []*pluginproto.TableSpec
}

func newServer(tables []Table) *server {
	s := &server{tables: map[string]Table{}}
	for _, t := range tables {
		s.tables[t.Name()] = t
		s.specs = append(s.specs, specToProto(t))
	}
	return s
}

func (s *server) Describe(context.Context, *pluginproto.DescribeRequest) (*pluginproto.DescribeResponse, error) {
	return &pluginproto.DescribeResponse{SdkVersion: Version, Tables: s.specs}, nil
}

// batchBytes is about how much row data one stream message carries; gRPC's default
// receive limit is 4 MiB a message.
const batchBytes = 1 << 20

func (s *server) Generate(req *pluginproto.GenerateRequest, stream grpc.ServerStreamingServer[pluginproto.GenerateResponse]) error {
	t, ok := s.tables[req.GetTable()]
	if !ok {
		return stream.Send(&pluginproto.GenerateResponse{Status: statusOf(fmt.Errorf("%w: no table %q in this plugin", ErrNotFound, req.GetTable()))})
	}
	rows, err := generate(stream.Context(), t, queryContextFromProto(req.GetQueryContext()))
	if err != nil {
		return stream.Send(&pluginproto.GenerateResponse{Status: statusOf(err)})
	}
	msg := &pluginproto.GenerateResponse{}
	size := 0
	for _, r := range rows {
		row := &pluginproto.Row{Columns: r}
		for k, v := range r {
			size += len(k) + len(v) + 4
		}
		msg.Rows = append(msg.Rows, row)
		if size >= batchBytes {
			if err := stream.Send(msg); err != nil {
				return err
			}
			msg, size = &pluginproto.GenerateResponse{}, 0
		}
	}
	msg.Status = statusOf(nil)
	return stream.Send(msg)
}

// generate runs a table's generate with a panic turned into an ErrInternal error,
// so that one bad query does not kill the plugin.
func generate(ctx context.Context, t Table, qc table.QueryContext) (rows []map[string]string, err error) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(os.Stderr, "exechunt plugin: table %s panicked: %v\n%s", t.Name(), p, debug.Stack())
			rows, err = nil, fmt.Errorf("%w: table %s panicked: %v", ErrInternal, t.Name(), p)
		}
	}()
	return t.Generate(ctx, qc)
}
