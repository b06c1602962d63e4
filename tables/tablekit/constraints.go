package tablekit

import (
	"strconv"
	"strings"
	"time"

	"github.com/osquery/osquery-go/plugin/table"
)

// Equals returns the values a query pins column col to with `=` (or IN, which osquery
// sends as several EQ constraints), and whether there are any.
func Equals(qc table.QueryContext, col string) ([]string, bool) {
	cl, ok := qc.Constraints[col]
	if !ok {
		return nil, false
	}
	var out []string
	for _, c := range cl.Constraints {
		if c.Operator == table.OperatorEquals {
			out = append(out, c.Expression)
		}
	}
	return out, len(out) > 0
}

// IntEquals is Equals for integer columns; values that are not integers are dropped
// (they match no row).
func IntEquals(qc table.QueryContext, col string) ([]int64, bool) {
	vals, ok := Equals(qc, col)
	if !ok {
		return nil, false
	}
	out := make([]int64, 0, len(vals))
	for _, v := range vals {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			out = append(out, n)
		}
	}
	return out, true
}

// Range is a closed interval of an integer column; a zero bound is open.
type Range struct {
	Min, Max       int64
	HasMin, HasMax bool
}

// IntRange folds the =, >, >=, <, <= constraints on an integer column into one
// interval. Constraints that cannot be parsed are ignored (SQLite re-checks every row).
func IntRange(qc table.QueryContext, col string) Range {
	var r Range
	cl, ok := qc.Constraints[col]
	if !ok {
		return r
	}
	bounds(cl, func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }, func(v int64, strict bool) {
		if strict {
			v++
		}
		if !r.HasMin || v > r.Min {
			r.Min, r.HasMin = v, true
		}
	}, func(v int64, strict bool) {
		if strict {
			v--
		}
		if !r.HasMax || v < r.Max {
			r.Max, r.HasMax = v, true
		}
	})
	return r
}

// bounds passes each constraint of cl whose expression parses to lower (=, >,
// >=) and upper (=, <, <=); strict is true for > and <.
func bounds[T any](cl table.ConstraintList, parse func(string) (T, error), lower, upper func(v T, strict bool)) {
	for _, c := range cl.Constraints {
		v, err := parse(strings.TrimSpace(c.Expression))
		if err != nil {
			continue
		}
		switch c.Operator {
		case table.OperatorEquals:
			lower(v, false)
			upper(v, false)
		case table.OperatorGreaterThan, table.OperatorGreaterThanOrEquals:
			lower(v, c.Operator == table.OperatorGreaterThan)
		case table.OperatorLessThan, table.OperatorLessThanOrEquals:
			upper(v, c.Operator == table.OperatorLessThan)
		}
	}
}

// Contains reports whether v lies in r.
func (r Range) Contains(v int64) bool {
	return (!r.HasMin || v >= r.Min) && (!r.HasMax || v <= r.Max)
}

// TimeWindow turns constraints on a Unix-seconds column into a time window for
// readers (zero times are open ends).
func TimeWindow(qc table.QueryContext, col string) (since, until time.Time) {
	r := IntRange(qc, col)
	if r.HasMin {
		since = time.Unix(r.Min, 0).UTC()
	}
	if r.HasMax {
		until = time.Unix(r.Max, 999_999_999).UTC()
	}
	return since, until
}

// DatetimeWindow turns constraints on an RFC 3339 text column (osquery's datetime)
// into a time window; it narrows since/until given by another column. Expressions
// that do not parse are ignored (SQLite re-checks every row).
func DatetimeWindow(qc table.QueryContext, col string, since, until time.Time) (time.Time, time.Time) {
	cl, ok := qc.Constraints[col]
	if !ok {
		return since, until
	}
	// A strict bound is kept inclusive: SQLite re-checks every row.
	bounds(cl, func(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }, func(t time.Time, _ bool) {
		if since.IsZero() || t.After(since) {
			since = t
		}
	}, func(t time.Time, _ bool) {
		if until.IsZero() || t.Before(until) {
			until = t
		}
	})
	return since, until
}
