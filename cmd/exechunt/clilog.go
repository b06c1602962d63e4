package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/exechunt/exechunt/offline/report"
)

// cliLogger is the logger of the commands that run on the user's terminal (sql,
// scan, simulate: not serve, whose logs are a server's): warnings and errors the
// libraries log are printed in the CLI's one style, "exechunt: warning: MESSAGE
// (key=value, …)", each value escaped (termSafe) and clipped, as it may come from
// the evidence or a plugin. Less severe records are dropped.
func cliLogger(w io.Writer) *slog.Logger {
	return slog.New(&cliHandler{w: w, mu: &sync.Mutex{}})
}

// cliValueLen bounds a logged value.
const cliValueLen = 300

type cliHandler struct {
	w      io.Writer
	mu     *sync.Mutex
	attrs  []slog.Attr
	groups string // "g1.g2." prefix of the keys of attributes added later
}

func (h *cliHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *cliHandler) Handle(_ context.Context, r slog.Record) error {
	word := "warning"
	if r.Level >= slog.LevelError {
		word = "error"
	}
	var kv []string
	add := func(prefix string, a slog.Attr) {
		kv = append(kv, prefix+a.Key+"="+termSafe(report.OneLine(a.Value.Resolve().String(), cliValueLen)))
	}
	for _, a := range h.attrs {
		add("", a)
	}
	r.Attrs(func(a slog.Attr) bool { add(h.groups, a); return true })
	line := "exechunt: " + word + ": " + termSafe(report.OneLine(r.Message, cliValueLen))
	if len(kv) > 0 {
		line += " (" + strings.Join(kv, ", ") + ")"
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := fmt.Fprintln(h.w, line)
	return err
}

func (h *cliHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]slog.Attr{}, h.attrs...)
	for _, a := range as {
		a.Key = h.groups + a.Key
		c.attrs = append(c.attrs, a)
	}
	return &c
}

func (h *cliHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.groups += name + "."
	return &c
}
