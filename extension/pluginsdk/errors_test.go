package pluginsdk

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/exechunt/exechunt/extension/pluginsdk/pluginproto"
)

// A deadline or cancellation reported by the plugin or by gRPC is the caller's
// context error too, even when the caller's own timer has not fired yet (the race
// CI once hit in TestDeadline).
func TestContextErrorsCrossTheBoundary(t *testing.T) {
	live := context.Background() // ctx.Err() == nil: the timer has not fired
	for _, tc := range []struct {
		name      string
		err       error
		sentinel  error
		ctxErr    error
		notCtxErr error
	}{
		{"grpc deadline", callError(live, "generate t", status.Error(codes.DeadlineExceeded, "stream terminated by RST_STREAM")), ErrDeadlineExceeded, context.DeadlineExceeded, context.Canceled},
		{"grpc canceled", callError(live, "generate t", status.Error(codes.Canceled, "x")), ErrCanceled, context.Canceled, context.DeadlineExceeded},
		{"status deadline", &StatusError{Code: pluginproto.Code_CODE_DEADLINE_EXCEEDED, Message: "m"}, ErrDeadlineExceeded, context.DeadlineExceeded, context.Canceled},
		{"status canceled", &StatusError{Code: pluginproto.Code_CODE_CANCELED, Message: "m"}, ErrCanceled, context.Canceled, context.DeadlineExceeded},
		{"status not found", &StatusError{Code: pluginproto.Code_CODE_NOT_FOUND, Message: "m"}, ErrNotFound, nil, context.DeadlineExceeded},
		{"grpc unavailable", callError(live, "generate t", status.Error(codes.Unavailable, "x")), ErrTransport, nil, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, tc.sentinel) {
				t.Errorf("%v: not %v", tc.err, tc.sentinel)
			}
			if tc.ctxErr != nil && !errors.Is(tc.err, tc.ctxErr) {
				t.Errorf("%v: not %v", tc.err, tc.ctxErr)
			}
			if errors.Is(tc.err, tc.notCtxErr) {
				t.Errorf("%v: is %v", tc.err, tc.notCtxErr)
			}
		})
	}
	// An expired context is reported as such whatever gRPC said.
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if err := callError(ctx, "generate t", status.Error(codes.Unavailable, "x")); !errors.Is(err, ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("expired ctx: %v", err)
	}
	if (&StatusError{Code: pluginproto.Code_CODE_OK}).Unwrap() != nil {
		t.Error("OK status unwraps to something")
	}
}
