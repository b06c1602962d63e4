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
	lower := func(v int64) {
		if !r.HasMin || v > r.Min {
			r.Min, r.HasMin = v, true
		}
	}
	upper := func(v int64) {
		if !r.HasMax || v < r.Max {
			r.Max, r.HasMax = v, true
		}
	}
	for _, c := range cl.Constraints {
		v, err := strconv.ParseInt(strings.TrimSpace(c.Expression), 10, 64)
		if err != nil {
			continue
		}
		switch c.Operator {
		case table.OperatorEquals:
			lower(v)
			upper(v)
		case table.OperatorGreaterThan:
			lower(v + 1)
		case table.OperatorGreaterThanOrEquals:
			lower(v)
		case table.OperatorLessThan:
			upper(v - 1)
		case table.OperatorLessThanOrEquals:
			upper(v)
		}
	}
	return r
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
	lower := func(t time.Time) {
		if since.IsZero() || t.After(since) {
			since = t
		}
	}
	upper := func(t time.Time) {
		if until.IsZero() || t.Before(until) {
			until = t
		}
	}
	for _, c := range cl.Constraints {
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(c.Expression))
		if err != nil {
			continue
		}
		switch c.Operator {
		case table.OperatorEquals:
			lower(t)
			upper(t)
		case table.OperatorGreaterThan, table.OperatorGreaterThanOrEquals:
			lower(t)
		case table.OperatorLessThan, table.OperatorLessThanOrEquals:
			upper(t)
		}
	}
	return since, until
}
