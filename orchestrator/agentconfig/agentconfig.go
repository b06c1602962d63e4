// Package agentconfig builds the osquery configuration the orchestrator hands each
// host on /config: options, decorators, the packs whose platform matches the host
// (with their discovery queries) and feature_vectors.
package agentconfig

import (
	"context"
	"slices"

	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/targeting"
	"github.com/exechunt/exechunt/packs"
)

// DefaultOptions are the osquery options sent to every host: a 10 s distributed
// interval, result logs every 10 s, event-format results, config refresh every 5
// minutes.
func DefaultOptions() map[string]any {
	return map[string]any{
		"distributed_interval":       10,
		"logger_tls_period":          10,
		"logger_tls_max_lines":       1024,
		"config_refresh":             300,
		"config_accelerated_refresh": 60,
		"schedule_splay_percent":     10,
		"pack_delimiter":             "_",
		"host_identifier":            "uuid",
	}
}

// DefaultDecorators tag every result line with the host's UUID and hostname.
func DefaultDecorators() map[string]any {
	return map[string]any{"load": []string{
		"SELECT uuid AS host_uuid FROM system_info;",
		"SELECT hostname AS hostname FROM system_info;",
	}}
}

// Static is a ConfigSource with the same options and decorators for every host and
// the packs that target each host's platform. Hunts (issue 7) add their own source.
type Static struct {
	Options    map[string]any // nil: DefaultOptions
	Decorators map[string]any // nil: DefaultDecorators
	Packs      []packs.Pack
}

// Config implements agentapi.ConfigSource.
func (s Static) Config(_ context.Context, h store.Host) (map[string]any, error) {
	opts, dec := s.Options, s.Decorators
	if opts == nil {
		opts = DefaultOptions()
	}
	if dec == nil {
		dec = DefaultDecorators()
	}
	return map[string]any{
		"options":         opts,
		"decorators":      dec,
		"schedule":        map[string]any{},
		"packs":           RenderPacks(s.Packs, h.Platform),
		"feature_vectors": FeatureVectors(),
	}, nil
}

// putFilters sets the keys by which osquery picks the hosts of a query or a
// pack (platform, version, shard), those that are set.
func putFilters(m map[string]any, platform, version string, shard int) {
	if platform != "" {
		m["platform"] = platform
	}
	if version != "" {
		m["version"] = version
	}
	if shard > 0 {
		m["shard"] = shard
	}
}

// FeatureVectors returns osquery's feature_vectors block.
func FeatureVectors() map[string]any {
	return map[string]any{"character_frequencies": characterFrequencies[:]}
}

// RenderPacks returns the osquery "packs" block for a host: packs and queries
// whose platform covers it, in osquery's pack format (exechunt's own fields —
// technique, severity, stack, schedule — stay on the server).
func RenderPacks(ps []packs.Pack, family string) map[string]any {
	out := map[string]any{}
	for _, p := range ps {
		if !targeting.PlatformMatches(p.Platform, family) {
			continue
		}
		qs := map[string]any{}
		for _, q := range p.Queries {
			if !targeting.PlatformMatches(q.Platform, family) {
				continue
			}
			// packs.Query cannot tell an absent "removed" from false, so it is left
			// to osquery's default (true); snapshot is sent only when set.
			m := map[string]any{"query": q.SQL, "interval": q.Interval}
			if q.Snapshot {
				m["snapshot"] = true
			}
			if q.Interval <= 0 {
				m["interval"] = 3600
			}
			putFilters(m, q.Platform, q.Version, q.Shard)
			if q.Denylist != nil {
				m["denylist"] = *q.Denylist
			}
			if q.Description != "" {
				m["description"] = q.Description
			}
			if q.Value != "" {
				m["value"] = q.Value
			}
			qs[q.Name] = m
		}
		if len(qs) == 0 {
			continue
		}
		pm := map[string]any{"queries": qs}
		putFilters(pm, p.Platform, p.Version, p.Shard)
		if len(p.Discovery) > 0 {
			pm["discovery"] = slices.Clone(p.Discovery)
		}
		out[p.Name] = pm
	}
	return out
}
