package apiv1

import "time"

// Forwarded event names (docs/forwarding.md).
const (
	EventAnomalyOpened     = "anomaly.opened"      // an anomaly appeared in the assessment
	EventAnomalyRankRaised = "anomaly.rank_raised" // its rank rose by a step (forward.RankStep) or more
	EventAnomalyTriaged    = "anomaly.triaged"     // an analyst set its triage state
)

// ForwardEvent is one message the orchestrator forwards to a destination
// (webhook, file, syslog): an anomaly event carrying the anomaly as the API
// serves it.
type ForwardEvent struct {
	Event string    `json:"event"`
	Time  time.Time `json:"time"`
	// Actor is who triaged (anomaly.triaged only).
	Actor string `json:"actor,omitempty"`
	// PreviousRank is the rank before the rise (anomaly.rank_raised only).
	PreviousRank float64 `json:"previous_rank,omitempty"`
	Anomaly      Anomaly `json:"anomaly"`
}

// ForwardingStatus is one destination's outbox, as GET /api/v1/forwarding
// returns it (a list, by destination).
type ForwardingStatus struct {
	Destination string `json:"destination"`
	Configured  bool   `json:"configured"` // false: only queued items of an earlier configuration remain
	Queued      int    `json:"queued"`
	Retrying    int    `json:"retrying"` // queued after at least one failed try
	Delivered   int    `json:"delivered"`
	Dead        int    `json:"dead"` // dead-lettered: failed every try
	// OldestQueued is the creation time of the oldest queued item (absent when
	// none is queued); OldestQueuedAgeSeconds its age when the status was read.
	OldestQueued           *time.Time `json:"oldest_queued,omitempty"`
	OldestQueuedAgeSeconds float64    `json:"oldest_queued_age_seconds"`
}
