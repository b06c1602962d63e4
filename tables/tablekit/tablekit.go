// Package tablekit is the one seam every exechunt table is built on: osquery-go's
// table contract (columns + generate(ctx, query context) → rows). A Table is served to
// osqueryd by the extension, to the offline SQL engine as a virtual table and to
// plugin hosts over gRPC — always through Plugin, which bounds each generate call in
// time and turns a panic into an error so that no table can take the extension down.
package tablekit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/osquery/osquery-go/plugin/table"
)

// Table describes one hunt table.
type Table struct {
	Name        string
	Description string
	Columns     []table.ColumnDefinition
	Generate    table.GenerateFunc
	Platforms   []string // "linux", "windows", "darwin"; empty means all
}

// DefaultTimeout bounds one generate call (osqueryd's own thrift timeout is 300 s;
// launcher uses 4 min).
const DefaultTimeout = 4 * time.Minute

// ErrPanic is wrapped by the error returned when a table's generate panicked.
var ErrPanic = errors.New("table panicked")

// Options tune Plugin.
type Options struct {
	Timeout time.Duration // per generate call; zero means DefaultTimeout
	Logger  *slog.Logger  // nil means slog.Default()
}

// Plugin wraps t as an osquery-go table plugin with a deadline and panic recovery.
// Use it instead of table.NewPlugin everywhere.
func Plugin(t Table, o Options) *table.Plugin {
	return table.NewPlugin(t.Name, t.Columns, Guard(t.Name, t.Generate, o), table.WithDescription(t.Description))
}

// Guard returns gen bounded by a deadline, with panics turned into errors. The
// generate function must honour ctx: when the deadline passes, Guard returns an error
// at once and the late result is dropped.
func Guard(name string, gen table.GenerateFunc, o Options) table.GenerateFunc {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context, qc table.QueryContext) ([]map[string]string, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		type result struct {
			rows []map[string]string
			err  error
		}
		done := make(chan result, 1)
		go func() {
			var r result
			defer func() {
				if p := recover(); p != nil {
					log.Error("table panicked", "table", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
					r = result{nil, fmt.Errorf("%s: %w: %v", name, ErrPanic, p)}
				}
				done <- r
			}()
			r.rows, r.err = gen(ctx, qc)
		}()
		select {
		case r := <-done:
			if r.err != nil {
				return nil, fmt.Errorf("%s: %w", name, r.err)
			}
			return r.rows, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: generate: %w", name, ctx.Err())
		}
	}
}

// Value is the value a table row's text v (ok false: the row has no such
// key) takes in a column of type typ, as osquery converts it: a missing key is nil
// (NULL), TEXT is the string as is, a number that does not parse is nil; integers
// are int64 (UNSIGNED BIGINT above 2^63 in two's complement), DOUBLE float64. The
// offline SQL engine and the compiled Sigma engine read rows through it.
func Value(typ table.ColumnType, v string, ok bool) any {
	if !ok {
		return nil
	}
	switch typ {
	case table.ColumnTypeInteger, table.ColumnTypeBigInt:
		if i, err := strconv.ParseInt(v, 10, 64); err == nil {
			return i
		}
		return nil
	case table.ColumnTypeUnsignedBigInt:
		if u, err := strconv.ParseUint(v, 10, 64); err == nil {
			return int64(u) // as osquery: two's complement above 2^63
		} else if i, err := strconv.ParseInt(v, 10, 64); err == nil {
			return i
		}
		return nil
	case table.ColumnTypeDouble:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
		return nil
	}
	return v
}
