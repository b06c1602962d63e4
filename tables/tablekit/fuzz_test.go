package tablekit

import (
	"testing"

	"github.com/osquery/osquery-go/plugin/table"
)

// FuzzConstraints feeds arbitrary constraint expressions and operators, as the
// engine or osquery pass them from a WHERE clause, to every constraint helper:
// none panics, ranges are consistent and time windows ordered.
func FuzzConstraints(f *testing.F) {
	for _, s := range []struct {
		op1, op2 uint8
		e1, e2   string
	}{
		{2, 2, "4242", "x"},
		{4, 16, "1785931200", "1785934800"},
		{8, 32, "-9223372036854775808", "9223372036854775807"},
		{2, 4, "2026-08-06 12:00:00", "2026-08-06T12:00:00Z"},
		{65, 2, "%cmd%", " 12 "},
	} {
		f.Add(s.op1, s.op2, s.e1, s.e2)
	}
	ops := []table.Operator{table.OperatorEquals, table.OperatorGreaterThan, table.OperatorLessThanOrEquals,
		table.OperatorLessThan, table.OperatorGreaterThanOrEquals, table.OperatorLike, table.OperatorGlob}
	f.Fuzz(func(t *testing.T, op1, op2 uint8, e1, e2 string) {
		qc := table.QueryContext{Constraints: map[string]table.ConstraintList{"c": {Constraints: []table.Constraint{
			{Operator: ops[int(op1)%len(ops)], Expression: e1}, {Operator: table.Operator(op2), Expression: e2}}}}}
		Equals(qc, "c")
		IntEquals(qc, "c")
		r := IntRange(qc, "c")
		if r.HasMin && r.HasMax && r.Min <= r.Max && !r.Contains(r.Min) {
			t.Fatalf("range %+v does not contain its minimum", r)
		}
		since, until := TimeWindow(qc, "c")
		DatetimeWindow(qc, "c", since, until)
	})
}
