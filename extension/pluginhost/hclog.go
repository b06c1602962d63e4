package pluginhost

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// hclogger is go-plugin's logger interface backed by slog. go-plugin logs its own
// progress and each line a plugin writes to stderr through it (a JSON hclog line
// at its own level, any other line at debug).
type hclogger struct {
	hclog.Logger // a null logger for the methods go-plugin does not use here
	log          *slog.Logger
	name         string
}

func newHCLogger(log *slog.Logger) hclog.Logger {
	return &hclogger{Logger: hclog.NewNullLogger(), log: log}
}

func (l *hclogger) Log(level hclog.Level, msg string, args ...any) {
	lv := slog.LevelDebug
	switch level {
	case hclog.Trace, hclog.NoLevel, hclog.Off:
		return
	case hclog.Info:
		lv = slog.LevelInfo
	case hclog.Warn:
		lv = slog.LevelWarn
	case hclog.Error:
		lv = slog.LevelError
	}
	if len(args)%2 == 1 {
		args = append(args[:len(args)-1:len(args)-1], "extra", fmt.Sprint(args[len(args)-1]))
	}
	l.log.Log(context.Background(), lv, msg, args...)
}

func (l *hclogger) Trace(msg string, args ...any) {}
func (l *hclogger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }
func (l *hclogger) Info(msg string, args ...any)  { l.Log(hclog.Info, msg, args...) }
func (l *hclogger) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l *hclogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }
func (l *hclogger) IsTrace() bool                 { return false }
func (l *hclogger) IsDebug() bool                 { return l.log.Enabled(context.Background(), slog.LevelDebug) }
func (l *hclogger) IsInfo() bool                  { return l.log.Enabled(context.Background(), slog.LevelInfo) }
func (l *hclogger) IsWarn() bool                  { return l.log.Enabled(context.Background(), slog.LevelWarn) }
func (l *hclogger) IsError() bool                 { return l.log.Enabled(context.Background(), slog.LevelError) }
func (l *hclogger) Name() string                  { return l.name }

func (l *hclogger) With(args ...any) hclog.Logger {
	return &hclogger{Logger: l.Logger, log: l.log.With(args...), name: l.name}
}

func (l *hclogger) Named(name string) hclog.Logger {
	if l.name != "" {
		name = l.name + "." + name
	}
	return l.ResetNamed(name)
}

func (l *hclogger) ResetNamed(name string) hclog.Logger {
	return &hclogger{Logger: l.Logger, log: l.log.With("logger", name), name: name}
}
