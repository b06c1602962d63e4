package server

import (
	"context"
	"time"

	"github.com/exechunt/exechunt/orchestrator/hunts"
	"github.com/exechunt/exechunt/orchestrator/scheduler"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/webui"
)

// Hunts returns the hunt service (serve seeds the built-in hunts through it).
func (s *Server) Hunts() *hunts.Service { return s.hunts }

// nowClock is the system clock's timers with the server's Now.
type nowClock struct{ now func() time.Time }

func (c nowClock) Now() time.Time { return c.now().UTC() }
func (c nowClock) NewTimer(d time.Duration) scheduler.Timer {
	return scheduler.SystemClock{}.NewTimer(d)
}

// huntsUI adapts the hunt service to the web UI's HuntSource.
type huntsUI struct{ s *hunts.Service }

func uiRun(r store.HuntRun) webui.Run {
	trig := r.Trigger
	if r.By != "" {
		trig += " (" + r.By + ")"
	}
	return webui.Run{ID: r.ID, Hunt: r.Hunt, Trigger: trig, State: r.State, StartedAt: r.StartedAt, EndedAt: r.EndedAt,
		Targeted: r.HostsTargeted, Responded: r.HostsResponded, Errored: r.HostsErrored, Offline: r.HostsOffline,
		Rows: r.Rows, Message: r.Message}
}

func (u huntsUI) Hunts(ctx context.Context) ([]webui.Hunt, error) {
	hs, err := u.s.List(ctx, 3)
	if err != nil {
		return nil, err
	}
	out := make([]webui.Hunt, 0, len(hs))
	for _, h := range hs {
		wh := webui.Hunt{Name: h.Name, Description: h.Description, Pack: h.Pack, Queries: h.QueryNames,
			Schedule: h.Schedule, ScheduleWords: h.ScheduleWords, Mode: h.Mode, Targets: hunts.TargetWords(h.Targets),
			Enabled: h.Enabled, NextRuns: h.NextRuns}
		if h.LastRun != nil {
			r := uiRun(*h.LastRun)
			wh.LastRun = &r
		}
		out = append(out, wh)
	}
	return out, nil
}

func (u huntsUI) Runs(ctx context.Context, hunt string, limit int) ([]webui.Run, error) {
	rs, err := u.s.Runs(ctx, hunt, limit)
	if err != nil {
		return nil, err
	}
	out := make([]webui.Run, 0, len(rs))
	for _, r := range rs {
		out = append(out, uiRun(r))
	}
	return out, nil
}

func (u huntsUI) RunNow(ctx context.Context, hunt, by string) (webui.Run, error) {
	r, err := u.s.RunNow(ctx, hunt, by)
	if err != nil {
		return webui.Run{}, err
	}
	return uiRun(r), nil
}
