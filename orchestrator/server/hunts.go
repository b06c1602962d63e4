package server

import (
	"time"

	"github.com/exechunt/exechunt/orchestrator/hunts"
	"github.com/exechunt/exechunt/orchestrator/scheduler"
)

// Hunts returns the hunt service (serve seeds the built-in hunts through it).
func (s *Server) Hunts() *hunts.Service { return s.hunts }

// nowClock is the system clock's timers with the server's Now.
type nowClock struct{ now func() time.Time }

func (c nowClock) Now() time.Time { return c.now().UTC() }
func (c nowClock) NewTimer(d time.Duration) scheduler.Timer {
	return scheduler.SystemClock{}.NewTimer(d)
}
