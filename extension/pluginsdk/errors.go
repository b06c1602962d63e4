package pluginsdk

import (
	"context"
	"errors"
	"fmt"

	"github.com/exechunt/exechunt/extension/pluginsdk/pluginproto"
)

// Sentinel errors for the status codes of the protocol. A table wraps one of the
// first three to say why it failed; the host returns errors that wrap the sentinel
// of the status the plugin answered, so errors.Is works across the process
// boundary.
var (
	// ErrInvalidArgument: the query's constraints cannot be served (a required
	// column is not constrained, a value is malformed).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrNotFound: the plugin has no table of that name.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: a source the table reads, or the plugin itself, is not
	// available now; the same query may work later.
	ErrUnavailable = errors.New("unavailable")
	// ErrDeadlineExceeded: the call's deadline passed.
	ErrDeadlineExceeded = errors.New("deadline exceeded")
	// ErrCanceled: the caller cancelled the call.
	ErrCanceled = errors.New("canceled")
	// ErrInternal: any other failure, including a panic in the table.
	ErrInternal = errors.New("internal error")
)

// ErrTransport is wrapped (together with ErrUnavailable) by the errors a Client
// returns when the call did not reach the plugin or got no answer: the process
// exited, the connection broke. A host restarts the plugin on such errors.
var ErrTransport = errors.New("plugin connection failed")

// ErrProtocol is wrapped by the errors a Client returns when the plugin broke the
// protocol (a Generate stream without a final status).
var ErrProtocol = errors.New("plugin protocol violation")

// StatusError is a call the plugin answered with a non-OK status.
type StatusError struct {
	Code    pluginproto.Code
	Message string
}

func (e *StatusError) Error() string { return e.Message }

// Unwrap returns the sentinel error of the status code, and for a deadline or a
// cancellation also the context error it stands for: the plugin's context can
// expire a moment before the caller's own timer fires, and errors.Is(err,
// context.DeadlineExceeded) must not depend on which of the two was first.
func (e *StatusError) Unwrap() []error {
	s := sentinel(e.Code)
	if s == nil {
		return nil
	}
	if c := contextErr(s); c != nil {
		return []error{s, c}
	}
	return []error{s}
}

// contextErr is the context error a sentinel stands for, or nil.
func contextErr(sentinel error) error {
	switch sentinel {
	case ErrDeadlineExceeded:
		return context.DeadlineExceeded
	case ErrCanceled:
		return context.Canceled
	}
	return nil
}

func sentinel(c pluginproto.Code) error {
	switch c {
	case pluginproto.Code_CODE_INVALID_ARGUMENT:
		return ErrInvalidArgument
	case pluginproto.Code_CODE_NOT_FOUND:
		return ErrNotFound
	case pluginproto.Code_CODE_UNAVAILABLE:
		return ErrUnavailable
	case pluginproto.Code_CODE_DEADLINE_EXCEEDED:
		return ErrDeadlineExceeded
	case pluginproto.Code_CODE_CANCELED:
		return ErrCanceled
	case pluginproto.Code_CODE_OK:
		return nil
	}
	return ErrInternal
}

// codeOf maps a table's error to the status code sent to the host.
func codeOf(err error) pluginproto.Code {
	switch {
	case err == nil:
		return pluginproto.Code_CODE_OK
	case errors.Is(err, ErrInvalidArgument):
		return pluginproto.Code_CODE_INVALID_ARGUMENT
	case errors.Is(err, ErrNotFound):
		return pluginproto.Code_CODE_NOT_FOUND
	case errors.Is(err, ErrUnavailable):
		return pluginproto.Code_CODE_UNAVAILABLE
	case errors.Is(err, ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return pluginproto.Code_CODE_DEADLINE_EXCEEDED
	case errors.Is(err, ErrCanceled), errors.Is(err, context.Canceled):
		return pluginproto.Code_CODE_CANCELED
	}
	return pluginproto.Code_CODE_INTERNAL
}

// statusOf is the status sent for a table's result.
func statusOf(err error) *pluginproto.Status {
	if err == nil {
		return &pluginproto.Status{Code: pluginproto.Code_CODE_OK}
	}
	return &pluginproto.Status{Code: codeOf(err), Message: err.Error()}
}

// errorOf turns a received status into an error (nil for OK).
func errorOf(st *pluginproto.Status) error {
	if st.GetCode() == pluginproto.Code_CODE_OK {
		return nil
	}
	msg := st.GetMessage()
	if msg == "" {
		msg = fmt.Sprintf("plugin answered %s", st.GetCode())
	}
	return &StatusError{Code: st.GetCode(), Message: msg}
}
