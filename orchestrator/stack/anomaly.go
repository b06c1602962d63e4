package stack

import (
	"fmt"
	"sort"
	"strings"
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

// Anomaly is a stack worth a hunter's look, with its rank and the reasons.
type Anomaly struct {
	*Stack
	Technique  string   `json:"technique"`
	Severity   string   `json:"severity"`
	Prevalence float64  `json:"prevalence"`
	Answered   int      `json:"answered"`
	Rare       bool     `json:"rare"`
	New        bool     `json:"new"`
	HighScore  bool     `json:"high_score"`
	Rank       float64  `json:"rank"` // 0..1, higher first
	Reasons    []string `json:"reasons"`
}

// Anomalies ranks the stacks that are rare, new against the baseline or high-scoring.
// The rank adds 0.4 for rarity (scaled by how rare), 0.3 for newness and 0.3 × the
// max score / 100; ties break on host count (fewer first) then key.
func (s *Stacker) Anomalies(th Thresholds) []Anomaly {
	var out []Anomaly
	for _, st := range s.queries {
		answered := st.answered.count()
		for _, sk := range st.stacks {
			a := Anomaly{Stack: sk, Technique: st.q.Technique, Severity: st.q.Severity, Answered: answered}
			if answered > 0 {
				a.Prevalence = float64(sk.HostCount) / float64(answered)
			}
			a.Rare = (th.MaxPrevalence > 0 && a.Prevalence <= th.MaxPrevalence) || (th.MaxHosts > 0 && sk.HostCount <= th.MaxHosts)
			a.New = !st.normal[sk.Key]
			a.HighScore = th.MinScore > 0 && sk.MaxScore >= th.MinScore
			if !a.New && !a.HighScore {
				continue // in the baseline and harmless: normal, however rare
			}
			if !a.Rare && !a.HighScore {
				continue // new but common across the fleet: a rollout, not a hunt lead
			}
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
		return out[i].Query+string(out[i].Key) < out[j].Query+string(out[j].Key)
	})
	return out
}

// Top returns the n best-ranked anomalies.
func (s *Stacker) Top(th Thresholds, n int) []Anomaly {
	all := s.Anomalies(th)
	if len(all) > n {
		all = all[:n]
	}
	return all
}
