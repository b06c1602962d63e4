package tablekit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/osquery/osquery-go/plugin/table"
)

func TestGuard(t *testing.T) {
	panicky := Guard("p", func(context.Context, table.QueryContext) ([]map[string]string, error) { panic("boom") }, Options{})
	if _, err := panicky(context.Background(), table.QueryContext{}); !errors.Is(err, ErrPanic) {
		t.Errorf("panic: err = %v", err)
	}
	slow := Guard("s", func(ctx context.Context, _ table.QueryContext) ([]map[string]string, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}, Options{Timeout: 10 * time.Millisecond})
	if _, err := slow(context.Background(), table.QueryContext{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: err = %v", err)
	}
	ok := Guard("o", func(context.Context, table.QueryContext) ([]map[string]string, error) {
		return []map[string]string{{"a": "1"}}, nil
	}, Options{})
	if rows, err := ok(context.Background(), table.QueryContext{}); err != nil || len(rows) != 1 {
		t.Errorf("ok: %v %v", rows, err)
	}
}

func qc(col string, cs ...table.Constraint) table.QueryContext {
	return table.QueryContext{Constraints: map[string]table.ConstraintList{col: {Constraints: cs}}}
}

func TestConstraints(t *testing.T) {
	q := qc("time",
		table.Constraint{Operator: table.OperatorGreaterThan, Expression: "100"},
		table.Constraint{Operator: table.OperatorLessThanOrEquals, Expression: "200"},
		table.Constraint{Operator: table.OperatorGreaterThanOrEquals, Expression: "150"},
		table.Constraint{Operator: table.OperatorLike, Expression: "%x%"},
		table.Constraint{Operator: table.OperatorLessThan, Expression: "junk"})
	r := IntRange(q, "time")
	if !r.HasMin || r.Min != 150 || !r.HasMax || r.Max != 200 || r.Contains(149) || !r.Contains(200) || r.Contains(201) {
		t.Errorf("range = %+v", r)
	}
	since, until := TimeWindow(q, "time")
	if since.Unix() != 150 || until.Unix() != 200 {
		t.Errorf("window = %v %v", since, until)
	}
	if r := IntRange(qc("pid"), "time"); r.HasMin || r.HasMax || !r.Contains(-5) {
		t.Errorf("no constraint: %+v", r)
	}
	vals, ok := IntEquals(qc("pid", table.Constraint{Operator: table.OperatorEquals, Expression: "42"},
		table.Constraint{Operator: table.OperatorEquals, Expression: "x"}), "pid")
	if !ok || len(vals) != 1 || vals[0] != 42 {
		t.Errorf("IntEquals = %v %v", vals, ok)
	}
	if _, ok := Equals(qc("pid", table.Constraint{Operator: table.OperatorGreaterThan, Expression: "1"}), "pid"); ok {
		t.Errorf("Equals must ignore non-EQ constraints")
	}
	dq := qc("datetime",
		table.Constraint{Operator: table.OperatorGreaterThanOrEquals, Expression: "2024-03-01T10:00:00Z"},
		table.Constraint{Operator: table.OperatorLessThan, Expression: "not a time"})
	s, u := DatetimeWindow(dq, "datetime", time.Unix(0, 0), time.Time{})
	if s.Unix() != 1709287200 || !u.IsZero() {
		t.Errorf("DatetimeWindow = %v %v", s, u)
	}
}
