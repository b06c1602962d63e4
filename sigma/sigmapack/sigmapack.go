// Package sigmapack builds converted Sigma rules (sigma.Result) into exechunt packs:
// one pack per logsource, written as pack files (exechunt sigma convert --out) or
// loaded by exechunt scan and serve (--sigma). It is apart from package sigma so that
// the rule compiler and sigma/engine do not link packs (the extension links them,
// internal/archtest).
package sigmapack

import (
	"errors"
	"os"
	"path/filepath"
	"sort"

	"github.com/exechunt/exechunt/packs"
	"github.com/exechunt/exechunt/sigma"
)

// Build builds the converted queries of res into exechunt packs, one per logsource
// (sigma-process-creation-windows, sigma-process-creation-linux, sigma-ps-script),
// sorted by name and validated as a pack file would be. Each query runs hourly.
func Build(res *sigma.Result) ([]packs.Pack, error) {
	byName := map[string]*packs.Pack{}
	for _, q := range res.Queries {
		p := byName[q.Pack]
		if p == nil {
			p = &packs.Pack{Name: q.Pack, File: q.Pack + ".json", Platform: q.Platform}
			byName[q.Pack] = p
		}
		if p.Platform != q.Platform {
			p.Platform = ""
		}
		p.Queries = append(p.Queries, packs.Query{
			Name: q.Name, SQL: q.SQL, Interval: 3600, Schedule: "0 * * * *", Platform: q.Platform,
			Technique: q.Technique, Severity: q.Severity, Stack: q.Stack, Description: q.Description,
		})
	}
	out := make([]packs.Pack, 0, len(byName))
	var errs []error
	for _, p := range byName {
		if err := p.Validate(); err != nil {
			errs = append(errs, err)
		}
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, errors.Join(errs...)
}

// Write writes Build(res) into dir as NAME.json and returns the files written.
func Write(res *sigma.Result, dir string) ([]string, error) {
	ps, err := Build(res)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	var errs []error
	for _, p := range ps {
		data, err := packs.Marshal(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f := filepath.Join(dir, p.File)
		if err := os.WriteFile(f, data, 0o644); err != nil {
			errs = append(errs, err)
			continue
		}
		written = append(written, f)
	}
	return written, errors.Join(errs...)
}
