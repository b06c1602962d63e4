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

// View is a stack as an apiv1.Anomaly without the anomaly flags: a copy of the
// stack (its slices too, so the caller may read it after the stacker has moved
// on), the query's technique and severity, the prevalence and the hosts.
func (s *Stacker) View(sk *Stack) apiv1.Anomaly {
	a := apiv1.Anomaly{Stack: sk.Stack, Prevalence: s.Prevalence(sk), Answered: s.Answered(sk.Query), Hosts: s.Hosts(sk)}
	a.Indicators = slices.Clone(sk.Indicators)
	a.Examples = slices.Clone(sk.Examples)
	if st := s.queries[sk.Query]; st != nil {
		a.Technique, a.Severity = st.q.Technique, st.q.Severity
	}
	return a
}

// Anomalies ranks the stacks that are rare, new against the baseline or high-scoring.
// The rank adds 0.4 for rarity (scaled by how rare), 0.3 for newness and 0.3 × the
// max score / 100; ties break on host count (fewer first) then key.
func (s *Stacker) Anomalies(th Thresholds) []apiv1.Anomaly {
	var out []apiv1.Anomaly
	for _, st := range s.queries {
		answered := st.answered.count()
		for _, sk := range st.stacks {
			prevalence := 0.0
			if answered > 0 {
				prevalence = float64(sk.HostCount) / float64(answered)
			}
			rare := (th.MaxPrevalence > 0 && prevalence <= th.MaxPrevalence) || (th.MaxHosts > 0 && sk.HostCount <= th.MaxHosts)
			isNew := !st.normal[sk.Key]
			high := th.MinScore > 0 && sk.MaxScore >= th.MinScore
			if !isNew && !high {
				continue // in the baseline and harmless: normal, however rare
			}
			if !rare && !high {
				continue // new but common across the fleet: a rollout, not a hunt lead
			}
			a := s.View(sk)
			a.Rare, a.New, a.HighScore = rare, isNew, high
			if a.Rare {
				a.Rank += 0.4 * (1 - a.Prevalence)
				a.Reasons = append(a.Reasons, fmt.Sprintf("rare: %d of %d hosts (%.1f%%)", sk.HostCount, answered, 100*a.Prevalence))
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
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rank != out[j].Rank {
			return out[i].Rank > out[j].Rank
		}
		if out[i].HostCount != out[j].HostCount {
			return out[i].HostCount < out[j].HostCount
		}
		return out[i].Query+out[i].Key < out[j].Query+out[j].Key
	})
	return out
}

// Top returns the n best-ranked anomalies.
func (s *Stacker) Top(th Thresholds, n int) []apiv1.Anomaly {
	all := s.Anomalies(th)
	if len(all) > n {
		all = all[:n]
	}
	return all
}
