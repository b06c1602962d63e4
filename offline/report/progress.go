package report

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Progress shows a one-line progress report on stderr when it is a terminal and the
// scan has run for more than progressDelay: the query it is at and the findings so far.
type Progress struct {
	mu      sync.Mutex
	w       io.Writer
	total   int
	i       int
	name    string
	found   int
	start   time.Time
	shown   bool
	off     bool
	done    chan struct{}
	stopped sync.Once
}

const progressDelay = 1500 * time.Millisecond

// IsTerminal reports whether w is a terminal (a character device): progress lines
// that redraw themselves with \r go only there, not into a redirected log.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// StartProgress starts the progress line of a scan of total queries on w; with
// quiet, or when w is not a terminal, it shows nothing.
func StartProgress(w io.Writer, quiet bool, total int) *Progress {
	p := &Progress{w: w, total: total, start: time.Now(), done: make(chan struct{})}
	if quiet || !IsTerminal(w) {
		close(p.done)
		return p
	}
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				p.mu.Lock()
				if !p.off && time.Since(p.start) >= progressDelay {
					fmt.Fprintf(p.w, "\r\033[Kexechunt: scan: query %d/%d %s, %d findings, %s",
						p.i+1, p.total, p.name, p.found, time.Since(p.start).Round(time.Second))
					p.shown = true
				}
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// Set records the query being run and the findings so far.
func (p *Progress) Set(i int, name string, found int) {
	p.mu.Lock()
	p.i, p.name, p.found = i, name, found
	p.mu.Unlock()
}

// Clear erases the progress line before other output on the same terminal.
func (p *Progress) Clear() {
	p.mu.Lock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
	p.mu.Unlock()
}

// Stop ends the progress line and erases it.
func (p *Progress) Stop() {
	p.mu.Lock()
	p.off = true
	p.mu.Unlock()
	p.stopped.Do(func() {
		select {
		case <-p.done:
		default:
			close(p.done)
		}
	})
	p.Clear()
}
