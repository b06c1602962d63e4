package apiv1

import (
	"encoding/json"
	"time"
)

// Host is a host as the API returns it (GET /api/v1/hosts, /api/v1/hosts/{id}).
type Host struct {
	ID             int64           `json:"id"`
	Hostname       string          `json:"hostname"`
	Identifier     string          `json:"host_identifier"`
	UUID           string          `json:"uuid"`
	Platform       string          `json:"platform"`
	OSName         string          `json:"os_name"`
	OSVersion      string          `json:"os_version"`
	OsqueryVersion string          `json:"osquery_version"`
	EnrolledAt     time.Time       `json:"enrolled_at"`
	FirstSeen      time.Time       `json:"first_seen"`
	LastSeen       time.Time       `json:"last_seen"`
	Details        json.RawMessage `json:"details,omitempty"` // GET /api/v1/hosts/{id} only
}

// Hosts is GET /api/v1/hosts.
type Hosts struct {
	Hosts []Host `json:"hosts"`
}
