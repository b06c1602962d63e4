package stack

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
)

// Thresholds decide what makes a stack an anomaly.
type Thresholds struct {
	// A stack is rare when its prevalence is at most MaxPrevalence or it was seen on
	// at most MaxHosts hosts (either bound; zero disables it).
	MaxPrevalence float64
	MaxHosts      int
	// MinScore is the analysis score from which a stack is high-scoring.
	MinScore int
}

// DefaultThresholds: rare below 5% of the answering hosts or on at most 3 hosts;
// high-scoring from 50 (the tables' suspicious threshold).
var DefaultThresholds = Thresholds{MaxPrevalence: 0.05, MaxHosts: 3, MinScore: 50}

// severityOrder ranks the packs' severities, most severe last.
var severityOrder = []string{"info", "low", "medium", "high", "critical"}

// View is a stack as an apiv1.Anomaly without the anomaly flags: a copy of the
// stack (its slices too, so the caller may read it after the stacker has moved
// on), its short id, the technique and severity of the most severe query that
// returned it, the prevalence and the hosts.
func (s *Stacker) View(sk *Stack) apiv1.Anomaly {
	a := apiv1.Anomaly{Stack: sk.Stack, ID: sk.id, Answered: s.Answered(sk), Hosts: s.Hosts(sk)}
	if a.Answered > 0 {
		a.Prevalence = float64(sk.HostCount) / float64(a.Answered)
	}
	a.Queries = slices.Clone(sk.Queries)
	a.Indicators = slices.Clone(sk.Indicators)
	a.Examples = slices.Clone(sk.Examples)
	worst := -2
	for _, st := range sk.queries {
		if sev := slices.Index(severityOrder, st.q.Severity); sev > worst {
			worst, a.Technique, a.Severity = sev, st.q.Technique, st.q.Severity
		}
	}
	return a
}

// Assess is a stack as an anomaly: View with the anomaly flags, the rank and the
// reasons, and whether the stack is an anomaly. The one rule:
//
//   - rare — prevalence ≤ MaxPrevalence or seen on ≤ MaxHosts hosts — is an
//     anomaly from the first results on, whether or not the learning window has
//     passed: a fleet compromised before exechunt arrived must not have its
//     attacker learnt as normal. Only an analyst's suppression (MarkNormal) takes
//     a rare stack off the list;
//   - high-scoring — max score ≥ MinScore — is an anomaly whatever its prevalence
//     or baseline;
//   - new — not learnt in the learning window and not suppressed — only adds to
//     the rank: a new stack that is common (a software rollout) is not an anomaly.
//
// The rank adds 0.4 × (1 − prevalence) when rare, 0.3 when new and 0.3 × the
// max score / 100, so it is the same wherever the stack is shown.
func (s *Stacker) Assess(sk *Stack, th Thresholds) (apiv1.Anomaly, bool) {
	a := s.View(sk)
	f := s.flags(sk, th)
	a.Rare, a.New, a.HighScore = f.rare, f.isNew, f.high
	if a.Rare {
		a.Rank += 0.4 * (1 - a.Prevalence)
		a.Reasons = append(a.Reasons, fmt.Sprintf("rare: %d of %d hosts (%.1f%%)", sk.HostCount, a.Answered, 100*a.Prevalence))
	}
	if a.New {
		a.Rank += 0.3
		a.Reasons = append(a.Reasons, "new: not in the baseline")
	}
	if sk.MaxScore > 0 {
		a.Rank += 0.3 * float64(min(sk.MaxScore, 100)) / 100
	}
	if a.HighScore {
		r := fmt.Sprintf("score %d", sk.MaxScore)
		if len(sk.Indicators) > 0 {
			r += " (" + strings.Join(sk.Indicators, ", ") + ")"
		}
		a.Reasons = append(a.Reasons, r)
	}
	return a, f.anomaly
}

type flags struct{ rare, isNew, high, anomaly bool }

// flags applies the rule of Assess without building the view.
func (s *Stacker) flags(sk *Stack, th Thresholds) flags {
	prevalence := s.Prevalence(sk)
	suppressed := s.suppressed[sk.entity]
	f := flags{
		rare:  (th.MaxPrevalence > 0 && prevalence <= th.MaxPrevalence) || (th.MaxHosts > 0 && sk.HostCount <= th.MaxHosts),
		isNew: !suppressed && !s.learnt[sk.entity],
		high:  th.MinScore > 0 && sk.MaxScore >= th.MinScore,
	}
	f.anomaly = f.high || (f.rare && !suppressed)
	return f
}

// Anomalies ranks the stacks that are anomalies (see Assess), best first; ties
// break on host count (fewer first), then on the stack.
func (s *Stacker) Anomalies(th Thresholds) []apiv1.Anomaly {
	var out []apiv1.Anomaly
	for _, sk := range s.entities {
		if s.flags(sk, th).anomaly {
			a, _ := s.Assess(sk, th)
			out = append(out, a)
		}
	}
	sortByRank(out)
	return out
}

// sortByRank orders anomalies best rank first, then fewer hosts first, then by id.
func sortByRank(list []apiv1.Anomaly) {
	sort.Slice(list, func(i, j int) bool {
		if list[i].Rank != list[j].Rank {
			return list[i].Rank > list[j].Rank
		}
		if list[i].HostCount != list[j].HostCount {
			return list[i].HostCount < list[j].HostCount
		}
		return list[i].ID < list[j].ID
	})
}

// Top returns the n best-ranked anomalies.
func (s *Stacker) Top(th Thresholds, n int) []apiv1.Anomaly {
	all := s.Anomalies(th)
	if len(all) > n {
		all = all[:n]
	}
	return all
}
