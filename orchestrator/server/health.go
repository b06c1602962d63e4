package server

import (
	"errors"
	"sync"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// writeHealth remembers whether the store's writes are failing for lack of space,
// so that /readyz stops saying "ready" while agents' results cannot be kept; the
// next successful write clears it.
type writeHealth struct {
	mu    sync.Mutex
	full  bool
	since time.Time
}

func (h *writeHealth) note(err error, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil:
		h.full = false
	case errors.Is(err, store.ErrFull):
		if !h.full {
			h.full, h.since = true, now
		}
	}
}

// state reports whether writes are failing for lack of space, and since when.
func (h *writeHealth) state() (bool, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.full, h.since
}

// storeWrites are the instrumented store operations that write: their outcome
// says whether the store can keep what agents send.
var storeWrites = map[string]bool{"InsertResults": true, "InsertStatusLogs": true, "RecordResults": true,
	"EnrollHost": true, "TouchHosts": true, "CreateLiveQuery": true, "TakePendingQueries": true,
	"FinishLiveQueries": true, "StartHuntRun": true, "FinishHuntRun": true}
