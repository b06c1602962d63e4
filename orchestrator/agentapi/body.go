package agentapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// gzipReaders are reused: each holds ~40 KB of inflate state, and every log POST
// of a fleet is compressed.
var gzipReaders sync.Pool

// Chunk sizes: a body is read in chunks that start at about its size (or 4 KiB)
// and double up to maxChunk, each reserved from a budget before it is allocated, so
// that the many small requests of a fleet allocate little and large ones few times.
const (
	minChunk = 512
	maxChunk = 1 << 20
)

// firstChunk guesses the body's size from Content-Length (times 8 for gzip).
func firstChunk(r *http.Request) int {
	n := 4 << 10
	if r.ContentLength > 0 {
		n = int(min(r.ContentLength+1, maxChunk)) // +1: EOF shows without a second chunk
		if r.Header.Get("Content-Encoding") != "" {
			n = int(min(8*r.ContentLength, maxChunk))
		}
	}
	return max(n, minChunk)
}

// errBusy answers a request that no memory budget can take now.
var errBusy = &requestError{status: http.StatusServiceUnavailable, msg: "server busy, retry later", retryAfter: "1"}

// errBodyTimeout answers a body that did not arrive within BodyTimeout.
var errBodyTimeout = &requestError{status: http.StatusRequestTimeout, msg: "request body not received in time"}

// readBody reads the request body within limit bytes after inflating Content-Encoding:
// gzip (--logger_tls_compress), within Config.BodyTimeout, reserving what it holds
// from a memory budget; release gives it back once the request is answered.
//
// host is the host the request authenticated as before its body was read (the
// Authorization: NodeKey header), or nil. Such a request reads on the main budget.
// Any other reads its first bytes on the small anonymous budget; when the body
// begins with its node_key, as osquery writes every body, the key is checked
// before the rest is read or inflated: an unknown key ends the read there, a known
// one moves the request to the main budget and is returned as authed. Enrollments
// (checkKey false) and bodies that hide their key stay on the anonymous budget.
func (h *Handler) readBody(ctx context.Context, w http.ResponseWriter, r *http.Request, limit int64,
	host *store.Host, checkKey bool) (body []byte, authed *store.Host, release func(), err error) {
	bud := h.anon
	if host != nil {
		bud = h.main
	}
	var held int64
	release = func() { bud.give(held) }

	// A deadline for the whole body: HTTP/1 through the connection's read deadline,
	// HTTP/2 (whose streams share a connection) by closing the body.
	var timedOut atomic.Bool
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(h.c.BodyTimeout))
	timer := time.AfterFunc(h.c.BodyTimeout, func() { timedOut.Store(true); r.Body.Close() })
	defer func() {
		timer.Stop()
		if err == nil {
			_ = rc.SetReadDeadline(time.Time{})
		}
		// Else the deadline stays: net/http then gives up at once on draining the
		// rest of the body before it answers, instead of waiting on the client.
		if err != nil && (timedOut.Load() || isTimeout(err)) {
			err = errBodyTimeout
		}
	}()

	tooBig := &requestError{status: http.StatusRequestEntityTooLarge, msg: "request body too large"}
	var rd io.Reader = http.MaxBytesReader(w, r.Body, limit)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var gerr error
		if zr == nil {
			zr, gerr = gzip.NewReader(rd)
		} else {
			gerr = zr.Reset(rd)
		}
		if gerr != nil {
			var mb *http.MaxBytesError
			if errors.As(gerr, &mb) {
				return nil, nil, release, tooBig
			}
			if timedOut.Load() || isTimeout(gerr) {
				return nil, nil, release, errBodyTimeout
			}
			return nil, nil, release, badRequest("bad gzip body")
		}
		defer func() {
			zr.Close()
			gzipReaders.Put(zr)
		}()
		rd = zr
	default:
		return nil, nil, release, &requestError{status: http.StatusUnsupportedMediaType, msg: "unsupported content encoding"}
	}

	// The body is read into chunks, each reserved before it is allocated, and joined
	// once at the end: a growing buffer would allocate about twice the body in
	// garbage on the way, which the budget does not see.
	var chunks [][]byte
	size := 0
	checked := host != nil || !checkKey
	next := firstChunk(r)
	if !checked {
		next = min(next, 32<<10) // the key is checked after the first chunk
	}
	for {
		if !bud.take(int64(next)) {
			return nil, nil, release, errBusy
		}
		held += int64(next)
		chunk := make([]byte, next)
		next = min(2*next, maxChunk)
		n, rerr := io.ReadFull(io.LimitReader(rd, limit+1-int64(size)), chunk)
		if rerr != nil && (timedOut.Load() || isTimeout(rerr)) {
			// The connection's deadline (an i/o timeout) or the timer closing the
			// body (which can end the read like a short body) came first.
			return nil, nil, release, errBodyTimeout
		}
		chunks = append(chunks, chunk[:n])
		size += n
		if int64(size) > limit {
			return nil, nil, release, tooBig
		}
		done := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !done {
			var mb *http.MaxBytesError
			if errors.As(rerr, &mb) {
				return nil, nil, release, tooBig
			}
			return nil, nil, release, badRequest("reading the body failed")
		}
		if !checked {
			checked = true
			if k, ok := leadingNodeKey(chunks[0]); ok {
				hst, aerr := h.authenticate(ctx, r, k)
				if aerr != nil {
					return nil, nil, release, aerr
				}
				authed = &hst
				// On the main budget from here.
				if !h.main.take(held) {
					return nil, nil, release, errBusy
				}
				bud.give(held)
				bud = h.main
			}
		}
		if done {
			break
		}
	}
	if len(chunks) == 1 {
		body = chunks[0]
	} else {
		body = make([]byte, 0, size)
		for _, c := range chunks {
			body = append(body, c...)
		}
	}
	// Keep reserved only what the body holds.
	bud.give(held - int64(size))
	held = int64(size)
	return body, authed, release, nil
}

// isTimeout reports a read that hit its deadline.
func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// leadingNodeKey returns the node key of a JSON body that begins with it
// ({"node_key":"…", …}), as every osquery request body does; ok is false when the
// body does not begin so or the key is not a plain string of at most 1 KiB.
func leadingNodeKey(b []byte) (string, bool) {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return "", false
	}
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	rest, ok := bytes.CutPrefix(b, []byte(`"node_key"`))
	if !ok {
		return "", false
	}
	rest = bytes.TrimLeft(rest, " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return "", false
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || rest[0] != '"' {
		return "", false
	}
	rest = rest[1:]
	end := bytes.IndexAny(rest, "\"\\")
	if end < 0 || end > 1024 || rest[end] != '"' {
		return "", false
	}
	return string(rest[:end]), true
}
