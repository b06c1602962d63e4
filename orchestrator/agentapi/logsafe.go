package agentapi

import (
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// maxLogField is the most of one agent-supplied value a log line carries.
const maxLogField = 128

// clipField bounds an agent-supplied value for a log line: at most maxLogField
// bytes of valid UTF-8, with the size of what was cut. Values come from clients
// without credentials (refused enrollments); a 1 KiB gzip body must not become a
// 1 MB log line.
func clipField(s string) string {
	if len(s) <= maxLogField && utf8.ValidString(s) {
		return s
	}
	cut := s
	if len(cut) > maxLogField {
		cut = cut[:maxLogField]
	}
	cut = strings.ToValidUTF8(cut, "?") // also a rune split at the cut
	if len(s) > maxLogField {
		cut += "… (" + strconv.Itoa(len(s)) + " bytes)"
	}
	return cut
}

// logEvery lets one log line of a kind through per interval and counts the ones
// it holds back, so that a flood of refused requests costs a line a second, not a
// line a request.
type logEvery struct {
	every time.Duration
	now   func() time.Time

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// note calls log (with the number of lines held back since the last one) if the
// interval has passed since the last line, else counts one more held back.
func (l *logEvery) note(log func(suppressed int)) {
	l.mu.Lock()
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	log(n)
}
