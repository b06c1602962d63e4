package hunts

import (
	"context"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/agentconfig"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/targeting"
	"github.com/exechunt/exechunt/packs"
)

// Config implements agentapi.ConfigSource: the base configuration plus, for every
// enabled push hunt that targets the host, its queries as a pack named after the
// hunt (only the queries whose platform covers the host; the hunt's interval when
// set). osquery names their results pack_<hunt>_<query> (ScheduleName).
func (s *Service) Config(ctx context.Context, h store.Host) (map[string]any, error) {
	cfg, err := s.c.Base.Config(ctx, h)
	if err != nil {
		return nil, err
	}
	out, _ := cfg["packs"].(map[string]any)
	out = maps.Clone(out)
	if out == nil {
		out = map[string]any{}
	}
	hs, _ := s.pushHuntsFor(h)
	for _, hunt := range hs {
		p, ok := s.pushPack(hunt)
		if !ok {
			continue
		}
		maps.Copy(out, agentconfig.RenderPacks([]packs.Pack{p}, h.Platform))
	}
	cfg["packs"] = out
	return cfg, nil
}

// ConfigKey implements agentapi.ConfigKeyer: a host's configuration follows from
// its platform and the enabled push hunts that target it, as of the last Reload.
func (s *Service) ConfigKey(h store.Host) string {
	hs, gen := s.pushHuntsFor(h)
	var b strings.Builder
	b.WriteString(strconv.FormatUint(gen, 10))
	b.WriteByte('|')
	b.WriteString(h.Platform)
	for _, hunt := range hs {
		b.WriteByte('|')
		b.WriteString(hunt.Name)
	}
	return b.String()
}

// pushHuntsFor returns the enabled push hunts that target h, and the Reload
// generation they are from. Config and ConfigKey both use it, so a key names
// exactly the hunts its configuration holds.
func (s *Service) pushHuntsFor(h store.Host) ([]store.Hunt, uint64) {
	s.mu.RLock()
	hs, gen := s.hunts, s.gen
	s.mu.RUnlock()
	var out []store.Hunt
	for _, hunt := range hs {
		if hunt.Enabled && hunt.Mode == store.ModePush && targeting.Targets(hunt.Targets).Matches(targetHost(h)) {
			out = append(out, hunt)
		}
	}
	return out, gen
}

// pushPack is the pack a push hunt puts into the osquery config.
func (s *Service) pushPack(h store.Hunt) (packs.Pack, bool) {
	src, ok := s.packs[h.Pack]
	if !ok {
		return packs.Pack{}, false
	}
	p := src
	p.Name = h.Name
	p.Queries = nil
	for _, q := range s.selectQueries(h) {
		if h.Interval > 0 {
			q.Interval = h.Interval
		}
		p.Queries = append(p.Queries, q)
	}
	return p, len(p.Queries) > 0
}

// PushRow is a result log row of a push hunt.
type PushRow struct {
	store.ResultRow
	Hunt  string
	Query string
}

// PushResults returns the result log rows of a push hunt's queries received since
// since (all when zero), oldest first, at most limit per query (0: 1000).
func (s *Service) PushResults(ctx context.Context, name string, query string, since time.Time, limit int) ([]PushRow, error) {
	h, err := s.c.Store.Hunt(ctx, name)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 1000
	}
	var out []PushRow
	for _, q := range s.selectQueries(h) {
		if query != "" && q.Name != query {
			continue
		}
		rows, err := s.c.Store.Results(ctx, store.ResultFilter{Name: ScheduleName(h.Name, q.Name), Since: since, Limit: limit})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out = append(out, PushRow{ResultRow: r, Hunt: h.Name, Query: q.Name})
		}
	}
	return out, nil
}
