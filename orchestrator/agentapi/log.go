package agentapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/exechunt/exechunt/orchestrator/ratelimit"
	"github.com/exechunt/exechunt/orchestrator/store"
)

// logRequest is osquery's logger POST: result or status lines.
type logRequest struct {
	nodeKeyRequest
	LogType string            `json:"log_type"`
	Data    []json.RawMessage `json:"data"`
}

// resultLine covers the three result formats: event (columns + action), snapshot
// (snapshot + action "snapshot") and batch (diffResults).
type resultLine struct {
	Name           string          `json:"name"`
	HostIdentifier string          `json:"hostIdentifier"`
	UnixTime       flexInt         `json:"unixTime"`
	Epoch          flexInt         `json:"epoch"`
	Counter        flexInt         `json:"counter"`
	Decorations    row             `json:"decorations"`
	Columns        row             `json:"columns"`
	Action         string          `json:"action"`
	Snapshot       []row           `json:"snapshot"`
	DiffResults    *diffResults    `json:"diffResults"`
	Numerics       json.RawMessage `json:"numerics"`
	CalendarTime   string          `json:"calendarTime"`
}

type diffResults struct {
	Added   []row `json:"added"`
	Removed []row `json:"removed"`
}

// statusLine is one status log entry.
type statusLine struct {
	UnixTime flexInt `json:"unixTime"`
	Severity flexInt `json:"severity"`
	Filename string  `json:"filename"`
	Line     flexInt `json:"line"`
	Message  string  `json:"message"`
	Version  string  `json:"version"`
}

// lineIDs derives deterministic IDs for the lines of one POST: the host, the
// line's compacted JSON and its ordinal among identical lines of the POST. A
// retried POST yields the same IDs; two identical lines in one POST stay two.
func lineIDs(hostID int64, data []json.RawMessage) ([][32]byte, error) {
	ids := make([][32]byte, len(data))
	seen := map[[32]byte]int{}
	var buf bytes.Buffer
	for i, d := range data {
		buf.Reset()
		if err := json.Compact(&buf, d); err != nil {
			return nil, badRequest("malformed log line %d", i)
		}
		c := sha256.Sum256(buf.Bytes())
		n := seen[c]
		seen[c] = n + 1
		h := sha256.New()
		var num [16]byte
		binary.BigEndian.PutUint64(num[:8], uint64(hostID))
		binary.BigEndian.PutUint64(num[8:], uint64(n))
		h.Write(num[:])
		h.Write(c[:])
		copy(ids[i][:], h.Sum(nil))
	}
	return ids, nil
}

// rowID is a stored row's ID: the line's own unixTime, then its hash and the
// row's ordinal within the line. The time comes first so that IDs grow with time:
// the store's unique index on them takes new rows at its end, like a log, where a
// hash first put every row on its own random index page (SQLite writes each
// dirty page whole into its WAL at every commit). A retried line has the same
// unixTime, so its IDs are unchanged.
func rowID(unixTime int64, line [32]byte, sub int) string {
	var b [4 + 16]byte
	binary.BigEndian.PutUint32(b[:4], uint32(min(max(unixTime, 0), math.MaxUint32)))
	copy(b[4:], line[:16])
	return hex.EncodeToString(b[:]) + "-" + itoa(int64(sub))
}

func (h *Handler) logs(ctx context.Context, r *http.Request, body []byte) (any, error) {
	// A host known before the body is parsed is charged before it is parsed.
	charged := false
	if host, ok := ctx.Value(authedHostKey{}).(store.Host); ok {
		if err := h.chargeLog(host, len(body)); err != nil {
			return nil, err
		}
		charged = true
	}
	var req logRequest
	host, err := h.decodeAuthenticated(ctx, r, body, "log request", false, &req)
	if err != nil {
		return nil, err
	}
	if !charged {
		if err := h.chargeLog(host, len(body)); err != nil {
			return nil, err
		}
	}
	if len(req.Data) > h.c.MaxRowsPerPost {
		return nil, &requestError{status: http.StatusRequestEntityTooLarge,
			msg: fmt.Sprintf("%d log lines in one request; at most %d", len(req.Data), h.c.MaxRowsPerPost)}
	}
	ids, err := lineIDs(host.ID, req.Data)
	if err != nil {
		return nil, err
	}
	now := h.c.Now()
	switch req.LogType {
	case "result":
		rows, err := resultRows(host.ID, req.Data, ids, now)
		if err != nil {
			return nil, err
		}
		if len(rows) > h.c.MaxRowsPerPost {
			return nil, &requestError{status: http.StatusRequestEntityTooLarge,
				msg: fmt.Sprintf("%d result rows in one request; at most %d", len(rows), h.c.MaxRowsPerPost)}
		}
		if _, err := h.c.Logs.InsertResults(ctx, rows); err != nil {
			return nil, err
		}
	case "status":
		logs := make([]store.StatusLog, 0, len(req.Data))
		for i, d := range req.Data {
			var s statusLine
			if err := json.Unmarshal(d, &s); err != nil {
				return nil, badRequest("malformed status line %d: %v", i, err)
			}
			logs = append(logs, store.StatusLog{ID: rowID(int64(s.UnixTime), ids[i], 0), HostID: host.ID, UnixTime: int64(s.UnixTime),
				Severity: int(s.Severity), Filename: s.Filename, Line: int(s.Line), Message: s.Message,
				Version: s.Version, ReceivedAt: now})
		}
		if _, err := h.c.Logs.InsertStatusLogs(ctx, logs); err != nil {
			return nil, err
		}
	default:
		// Other log types (e.g. osquery's "snapshot" from older builds is sent as
		// "result") are accepted and dropped so the agent does not buffer them forever.
		h.log.Debug("log type ignored", "log_type", req.LogType, "host_id", host.ID)
	}
	return okResponse{}, nil
}

// resultRows flattens result lines into rows: one per event line, one per
// snapshot row, one per added/removed row of a batch line.
func resultRows(hostID int64, data []json.RawMessage, ids [][32]byte, now time.Time) ([]store.ResultRow, error) {
	var rows []store.ResultRow
	for i, d := range data {
		var l resultLine
		if err := json.Unmarshal(d, &l); err != nil {
			return nil, badRequest("malformed result line %d: %v", i, err)
		}
		base := store.ResultRow{HostID: hostID, Name: l.Name, UnixTime: int64(l.UnixTime), Epoch: int64(l.Epoch),
			Counter: int64(l.Counter), ReceivedAt: now}
		if len(l.Decorations) > 0 {
			base.Decorations = l.Decorations.strings()
		}
		add := func(sub int, action string, cols row) {
			r := base
			r.ID, r.Action, r.Columns = rowID(base.UnixTime, ids[i], sub), action, cols.strings()
			rows = append(rows, r)
		}
		switch {
		case l.DiffResults != nil: // batch format
			for j, c := range l.DiffResults.Added {
				add(j, store.ActionAdded, c)
			}
			for j, c := range l.DiffResults.Removed {
				add(len(l.DiffResults.Added)+j, store.ActionRemoved, c)
			}
		case l.Action == store.ActionSnapshot || l.Snapshot != nil:
			for j, c := range l.Snapshot {
				add(j, store.ActionSnapshot, c)
			}
		case l.Action == store.ActionAdded || l.Action == store.ActionRemoved:
			add(0, l.Action, l.Columns)
		default:
			return nil, badRequest("result line %d: unknown format (an action of %d bytes that is not added, removed or snapshot)", i, len(l.Action))
		}
	}
	return rows, nil
}

// chargeLog takes n bytes from the host's log quota, or refuses the request with
// 429 and when to retry.
func (h *Handler) chargeLog(host store.Host, n int) error {
	ok, wait := h.logQuota.AllowN(itoa(host.ID), float64(n))
	if ok {
		return nil
	}
	if h.c.OnQuota != nil {
		h.c.OnQuota()
	}
	return &requestError{status: http.StatusTooManyRequests, msg: "this host is over its log quota, retry later",
		retryAfter: ratelimit.RetryAfter(wait)}
}
