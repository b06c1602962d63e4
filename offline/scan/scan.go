// Package scan runs hunt-pack queries on the offline engine and turns every row they
// return into a finding (offline/finding). It is the engine of `exechunt scan` and
// of the pack evaluations; printing the findings is offline/report's job.
package scan

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/exechunt/exechunt/offline/finding"
	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/packs"
	"github.com/exechunt/exechunt/tables/evidenceref"
)

// StackOnly is the severity of queries whose rows are raw material for the fleet
// stacker (every row of a kind, ranked by rarity across hosts), not findings.
const StackOnly = "info"

// Query is one pack query to run.
type Query struct {
	Pack string
	packs.Query
}

// ID names the query as findings and reports do: "pack/query".
func (q Query) ID() string { return q.Pack + "/" + q.Name }

// Select returns the queries of ps in order, without the stack-only ones unless
// stacks is set.
func Select(ps []packs.Pack, stacks bool) []Query {
	var out []Query
	for _, p := range ps {
		for _, q := range p.Queries {
			if q.Severity == StackOnly && !stacks {
				continue
			}
			out = append(out, Query{p.Name, q})
		}
	}
	return out
}

// LoadPacks returns the built-in packs plus those of dir ("" for none; a pack
// named like a built-in one replaces it), sorted by name, keeping those named in
// names ("all" keeps every pack; a ".json" suffix is ignored). A name that is no
// pack is an error that lists the known ones.
func LoadPacks(dir string, names []string) ([]packs.Pack, error) {
	all, err := packs.Load(packs.FS)
	if err != nil {
		return nil, fmt.Errorf("built-in packs: %w", err)
	}
	if dir != "" {
		extra, err := packs.Load(os.DirFS(dir))
		if err != nil {
			return nil, fmt.Errorf("packs folder %s: %w", dir, err)
		}
		byName := map[string]int{}
		for i, p := range all {
			byName[p.Name] = i
		}
		for _, p := range extra {
			if i, ok := byName[p.Name]; ok {
				all[i] = p
			} else {
				all = append(all, p)
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	want := map[string]bool{}
	for _, n := range names {
		want[strings.TrimSuffix(strings.TrimSpace(n), ".json")] = true
	}
	if want["all"] {
		return all, nil
	}
	var out []packs.Pack
	var known []string
	for _, p := range all {
		known = append(known, p.Name)
		if want[p.Name] {
			out = append(out, p)
			delete(want, p.Name)
		}
	}
	if len(want) > 0 {
		missing := slices.Sorted(maps.Keys(want))
		return nil, fmt.Errorf("no such pack %s (known: %s, or all)", strings.Join(missing, ","), strings.Join(known, ", "))
	}
	return out, nil
}

// Options tune a Scanner.
type Options struct {
	// MinScore drops rows whose "score" column is below it (rows without one are kept).
	MinScore int
	// OnQuery, if set, is called before each query of Run with its index and the
	// findings so far (a progress line).
	OnQuery func(i int, q Query, found int)
	// OnError, if set, is called with each query of Run that fails; the others still run.
	OnError func(q Query, err error)
}

// Scanner runs queries on one engine.
type Scanner struct {
	e   *sqlengine.Engine
	opt Options
}

// New returns a scanner over the engine e (the offline tables over the evidence,
// and any plugin tables; see package offline).
func New(e *sqlengine.Engine, opt Options) *Scanner { return &Scanner{e: e, opt: opt} }

// OutputError is the error of the function a scan passes findings to: it ends the
// scan, unlike a failing query.
type OutputError struct{ Err error }

func (e *OutputError) Error() string { return e.Err.Error() }
func (e *OutputError) Unwrap() error { return e.Err }

// Stats counts what Run did.
type Stats struct {
	Queries, Failed, Findings int
}

// Run runs the queries in order and passes every finding to fn. A query that fails
// goes to Options.OnError and the scan goes on; it returns an error only when ctx
// ends or fn fails (an *OutputError).
func (s *Scanner) Run(ctx context.Context, queries []Query, fn func(*finding.Finding) error) (Stats, error) {
	st := Stats{Queries: len(queries)}
	for i, q := range queries {
		if s.opt.OnQuery != nil {
			s.opt.OnQuery(i, q, st.Findings)
		}
		n, err := s.Query(ctx, q, fn)
		st.Findings += n
		if err == nil {
			continue
		}
		var oerr *OutputError
		if ctx.Err() != nil {
			return st, ctx.Err()
		} else if errors.As(err, &oerr) {
			return st, err
		}
		st.Failed++
		if s.opt.OnError != nil {
			s.opt.OnError(q, err)
		}
	}
	return st, nil
}

// Query runs one query, passes each row that reaches Options.MinScore to fn as a
// finding and returns how many it passed. An error of fn is returned as an
// *OutputError.
func (s *Scanner) Query(ctx context.Context, q Query, fn func(*finding.Finding) error) (int, error) {
	rows, err := s.e.Query(ctx, q.SQL)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols := rows.Columns()
	scoreCol, evCol := -1, -1
	for i, c := range cols {
		switch c {
		case "score":
			scoreCol = i
		case "evidence":
			evCol = i
		}
	}
	n := 0
	for rows.Next() {
		vals := rows.Values()
		if scoreCol >= 0 && s.opt.MinScore > 0 {
			if sc, ok := vals[scoreCol].(int64); ok && sc < int64(s.opt.MinScore) {
				continue
			}
		}
		fd := finding.Finding{Pack: q.Pack, Query: q.Name, Technique: q.Technique, Severity: q.Severity,
			Columns: cols, Row: make(map[string]any, len(cols))}
		for i, c := range cols {
			v := vals[i]
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			fd.Row[c] = v
		}
		if evCol >= 0 {
			// A column that does not decode (a plugin's own "evidence") locates nothing.
			parts, _ := evidenceref.Decode(finding.Text(fd.Row["evidence"]))
			fd.Evidence = evidenceref.RefOf(parts)
		}
		if err := fn(&fd); err != nil {
			return n, &OutputError{err}
		}
		n++
	}
	return n, rows.Err()
}
