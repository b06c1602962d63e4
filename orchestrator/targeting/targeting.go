// Package targeting is what "these hosts" means, once, for every path that
// picks hosts: scheduled and manual hunt runs (orchestrator/hunts), push hunts'
// pack configs, live queries (orchestrator/operatorapi) and the osquery
// "platform" field of packs (orchestrator/agentconfig). Before it, hunts
// understood platforms: ["posix"] and live queries silently matched no host.
//
// It is a leaf package (standard library only) so the operator API's wire types,
// the CLI and the web UI can carry Targets without linking the server.
package targeting

import (
	"fmt"
	"strings"
)

// Targets selects hosts: All, or the union of the others. The field order is
// that of targeting.Targets, so a stored hunt's targets convert with
// Targets(h.Targets).
type Targets struct {
	All bool `json:"all,omitempty"`
	// Platforms are osquery platform filters (see PlatformMatches): "windows",
	// "posix", "linux,darwin" …
	Platforms []string `json:"platforms,omitempty"`
	HostIDs   []int64  `json:"host_ids,omitempty"`
	// Hostnames match a host's hostname or its host identifier, ignoring case.
	Hostnames []string `json:"hostnames,omitempty"`
}

// Host is what targeting reads of a host.
type Host struct {
	ID         int64
	Hostname   string
	Identifier string // osquery's host identifier (uuid by default)
	Platform   string // the family: windows, linux, darwin, freebsd or ""
}

// Empty reports whether t selects nothing.
func (t Targets) Empty() bool {
	return !t.All && len(t.Platforms) == 0 && len(t.HostIDs) == 0 && len(t.Hostnames) == 0
}

// Matcher answers Matches for many hosts with the lookups built once.
type Matcher struct {
	t     Targets
	ids   map[int64]bool
	names map[string]bool
}

// Matcher returns t's matcher.
func (t Targets) Matcher() Matcher {
	m := Matcher{t: t, ids: make(map[int64]bool, len(t.HostIDs)), names: make(map[string]bool, len(t.Hostnames))}
	for _, id := range t.HostIDs {
		m.ids[id] = true
	}
	for _, n := range t.Hostnames {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
			m.names[n] = true
		}
	}
	return m
}

// Matches reports whether t selects h: All, or h's ID, hostname or identifier
// is listed, or one of the platform filters covers h's family. Blank hostnames
// and platform entries select nothing (a blank platform filter alone would mean
// "every platform" to PlatformMatches).
func (t Targets) Matches(h Host) bool { return t.Matcher().Matches(h) }

// Matches reports whether the targets select h.
func (m Matcher) Matches(h Host) bool {
	if m.t.All || m.ids[h.ID] {
		return true
	}
	if len(m.names) > 0 && (m.names[strings.ToLower(h.Hostname)] || m.names[strings.ToLower(h.Identifier)]) {
		return true
	}
	for _, p := range m.t.Platforms {
		if strings.TrimSpace(p) != "" && PlatformMatches(p, h.Platform) {
			return true
		}
	}
	return false
}

// Words describes the targets for people: "all hosts", "windows, host 3, web1".
func (t Targets) Words() string {
	if t.All {
		return "all hosts"
	}
	var parts []string
	parts = append(parts, t.Platforms...)
	for _, id := range t.HostIDs {
		parts = append(parts, fmt.Sprintf("host %d", id))
	}
	parts = append(parts, t.Hostnames...)
	return strings.Join(parts, ", ")
}

// PlatformMatches reports whether an osquery platform filter ("windows,linux",
// "posix", "any", "all", "") covers a host of the given family. A host whose
// family is unknown matches only filters that cover all platforms.
func PlatformMatches(filter, family string) bool {
	filter = strings.TrimSpace(filter)
	if filter == "" {
		return true
	}
	for _, p := range strings.Split(filter, ",") {
		switch p = strings.ToLower(strings.TrimSpace(p)); p {
		case "any", "all":
			return true
		case "posix":
			if family == "linux" || family == "darwin" || family == "freebsd" {
				return true
			}
		case "ubuntu", "centos", "rhel", "debian":
			if family == "linux" {
				return true
			}
		default:
			if p == family && family != "" {
				return true
			}
		}
	}
	return false
}
