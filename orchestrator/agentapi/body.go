package agentapi

import (
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
)

// gzipReaders are reused: each holds ~40 KB of inflate state, and every log POST
// of a fleet is compressed.
var gzipReaders sync.Pool

// readBody reads the request body, inflating Content-Encoding: gzip
// (--logger_tls_compress), and refuses more than limit bytes either way (413).
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	tooBig := &requestError{status: http.StatusRequestEntityTooLarge, msg: "request body too large"}
	var rd io.Reader = http.MaxBytesReader(w, r.Body, limit)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(rd)
		} else {
			err = zr.Reset(rd)
		}
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return nil, tooBig
			}
			return nil, badRequest("bad gzip body")
		}
		defer func() {
			zr.Close()
			gzipReaders.Put(zr)
		}()
		rd = zr
	default:
		return nil, &requestError{status: http.StatusUnsupportedMediaType, msg: "unsupported content encoding"}
	}
	b, err := io.ReadAll(io.LimitReader(rd, limit+1))
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb) || int64(len(b)) > limit:
		return nil, tooBig
	case err != nil:
		return nil, badRequest("reading the body: %v", err)
	}
	return b, nil
}
