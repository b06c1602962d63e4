package pluginsdk

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/osquery/osquery-go/plugin/table"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/exechunt/exechunt/extension/pluginsdk/pluginproto"
)

// Client is the host's side of a plugin: what go-plugin's Dispense(PluginName)
// returns for a connected plugin. Every method takes the call's context.
type Client interface {
	// Describe returns the plugin's SDK version and tables.
	Describe(ctx context.Context) (Description, error)
	// Generate runs table's generate with the query context. A non-OK status is a
	// *StatusError; a failed connection wraps ErrTransport and ErrUnavailable.
	Generate(ctx context.Context, table string, qc table.QueryContext) ([]map[string]string, error)
}

// Description is what a plugin says about itself.
type Description struct {
	SDKVersion string
	Tables     []TableSpec
}

type grpcClient struct {
	c pluginproto.TablesClient
}

func (c *grpcClient) Describe(ctx context.Context) (Description, error) {
	resp, err := c.c.Describe(ctx, &pluginproto.DescribeRequest{ProtocolVersion: ProtocolVersion})
	if err != nil {
		return Description{}, callError(ctx, "describe", err)
	}
	d := Description{SDKVersion: resp.GetSdkVersion()}
	for _, t := range resp.GetTables() {
		d.Tables = append(d.Tables, specFromProto(t))
	}
	return d, nil
}

// MaxResultBytes bounds what one Generate may hold of a plugin's answer (column
// names and values, plus 64 bytes a row for the row itself): a plugin that returns
// millions of rows would otherwise take the extension, which runs beside osqueryd,
// far past its memory limit. Past it the call fails with ErrResultTooLarge and the
// stream is cancelled.
const MaxResultBytes = 32 << 20

// ErrResultTooLarge is returned for a plugin answer larger than MaxResultBytes.
var ErrResultTooLarge = errors.New("plugin result too large")

func (c *grpcClient) Generate(ctx context.Context, name string, qc table.QueryContext) ([]map[string]string, error) {
	ctx, cancel := context.WithCancel(ctx) // ends the stream when we stop reading early
	defer cancel()
	stream, err := c.c.Generate(ctx, &pluginproto.GenerateRequest{Table: name, QueryContext: queryContextToProto(qc)})
	if err != nil {
		return nil, callError(ctx, "generate "+name, err)
	}
	var rows []map[string]string
	held := 0
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: generate %s: the stream ended without a status", ErrProtocol, name)
		}
		if err != nil {
			return nil, callError(ctx, "generate "+name, err)
		}
		for _, r := range msg.GetRows() {
			cols := r.GetColumns()
			if cols == nil {
				cols = map[string]string{}
			}
			held += 64
			for k, v := range cols {
				held += len(k) + len(v)
			}
			if held > MaxResultBytes {
				return nil, fmt.Errorf("%w: generate %s: more than %d MiB after %d rows; the result was dropped",
					ErrResultTooLarge, name, MaxResultBytes>>20, len(rows))
			}
			rows = append(rows, cols)
		}
		if st := msg.GetStatus(); st != nil {
			if err := errorOf(st); err != nil {
				return nil, err
			}
			return rows, nil
		}
	}
}

// callError classifies a gRPC error: the caller's own deadline or cancellation, or
// else a failed connection to the plugin.
func callError(ctx context.Context, what string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return fmt.Errorf("%s: %w: %w", what, ErrDeadlineExceeded, ctxErr)
		}
		return fmt.Errorf("%s: %w: %w", what, ErrCanceled, ctxErr)
	}
	// gRPC can report the caller's deadline before ctx.Err() is set: its transport
	// compares the clock with the deadline when the plugin resets the stream,
	// while the context's own timer may not have fired yet.
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w: %w: %s", what, ErrDeadlineExceeded, context.DeadlineExceeded, st.Message())
	case codes.Canceled:
		return fmt.Errorf("%s: %w: %w: %s", what, ErrCanceled, context.Canceled, st.Message())
	case codes.Unimplemented:
		return fmt.Errorf("%s: %w: the plugin does not implement it: %s", what, ErrProtocol, st.Message())
	}
	return fmt.Errorf("%s: %w: %w: %s", what, ErrTransport, ErrUnavailable, st.Message())
}
