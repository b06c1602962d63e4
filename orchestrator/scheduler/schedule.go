package scheduler

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// parser accepts standard 5-field cron, an optional leading seconds field, and
// descriptors (@hourly, @daily, @weekly, @monthly, @yearly, @every 10m).
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule is a parsed cron expression, always evaluated in UTC.
type Schedule struct {
	Spec  string
	sched cron.Schedule
}

// Parse parses spec. Time zones (TZ=, CRON_TZ=) are refused: schedules are UTC.
func Parse(spec string) (Schedule, error) {
	spec = strings.Join(strings.Fields(spec), " ")
	if spec == "" {
		return Schedule{}, errors.New("empty schedule")
	}
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return Schedule{}, fmt.Errorf("schedule %q: time zones are not supported (schedules are UTC)", spec)
	}
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		if dur, err := time.ParseDuration(d); err == nil && dur < time.Second {
			return Schedule{}, fmt.Errorf("schedule %q: @every needs at least 1s", spec)
		}
	}
	s, err := parser.Parse(spec)
	if err != nil {
		return Schedule{}, fmt.Errorf("schedule %q: %w", spec, err)
	}
	if ss, ok := s.(*cron.SpecSchedule); ok {
		// cron.Parse defaults to time.Local; this is where exechunt makes it UTC.
		ss.Location = time.UTC
	}
	return Schedule{Spec: spec, sched: s}, nil
}

// Next returns the first activation strictly after t, in UTC.
func (s Schedule) Next(t time.Time) time.Time { return s.sched.Next(t.UTC()).UTC() }

// NextN returns the next n activations after t.
func (s Schedule) NextN(t time.Time, n int) []time.Time {
	out := make([]time.Time, 0, n)
	for range n {
		t = s.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}

// Period is the time between the two activations that follow t: the length of the
// window a run covers in steady state.
func (s Schedule) Period(t time.Time) time.Duration {
	a := s.Next(t)
	b := s.Next(a)
	if a.IsZero() || b.IsZero() {
		return 0
	}
	return b.Sub(a)
}

var descriptors = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
	"@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

var dayNames = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// Describe turns a cron expression into words for the common shapes ("every 15
// minutes, UTC", "every 2 hours, UTC", "every day at 02:30 UTC", "every Monday
// at 09:00 UTC"); other expressions are quoted ("cron 5 4 1-7 * *, UTC"). It is
// exechunt's only schedule describer: the API's schedule_words, which the CLI and
// the web UI show, come from it.
func Describe(spec string) string {
	spec = strings.Join(strings.Fields(spec), " ")
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		dur, err := time.ParseDuration(d)
		if err != nil {
			return spec
		}
		return "every " + durationWords(dur)
	}
	if d, ok := descriptors[spec]; ok {
		spec = d
	}
	f := strings.Fields(spec)
	fallback := "cron " + spec + ", UTC"
	if len(f) == 6 {
		if f[0] != "0" {
			if len(f[1:]) == 5 && f[1] == "*" && f[2] == "*" && f[3] == "*" && f[4] == "*" && f[5] == "*" {
				if n, ok := step(f[0]); ok {
					return "every " + plural(n, "second") + ", UTC"
				}
			}
			return fallback
		}
		f = f[1:]
	}
	if len(f) != 5 {
		return fallback
	}
	min, hour, dom, mon, dow := f[0], f[1], f[2], f[3], f[4]
	if mon != "*" {
		return fallback
	}
	m, minFixed := number(min, 59)
	h, hourFixed := number(hour, 23)
	switch {
	case dom != "*" || dow != "*":
		if !minFixed || !hourFixed {
			return fallback
		}
		at := fmt.Sprintf("%02d:%02d UTC", h, m)
		if dom == "*" {
			days, ok := dowWords(dow)
			if !ok {
				return fallback
			}
			return "every " + days + " at " + at
		}
		if d, ok := number(dom, 31); ok && dow == "*" {
			return fmt.Sprintf("on day %d of every month at %s", d, at)
		}
		return fallback
	case min == "*" && hour == "*":
		return "every minute, UTC"
	case hour == "*":
		if n, ok := step(min); ok {
			return "every " + plural(n, "minute") + ", UTC"
		}
		if minFixed {
			if m == 0 {
				return "every hour, UTC"
			}
			return fmt.Sprintf("every hour at minute %d, UTC", m)
		}
	case minFixed:
		if n, ok := step(hour); ok {
			s := "every " + plural(n, "hour")
			if m != 0 {
				s += fmt.Sprintf(" at minute %d", m)
			}
			return s + ", UTC"
		}
		if hourFixed {
			return fmt.Sprintf("every day at %02d:%02d UTC", h, m)
		}
	}
	return fallback
}

func number(s string, max int) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0 && n <= max
}

// step reads "*/n" (and "0/n").
func step(s string) (int, bool) {
	b, n, ok := strings.Cut(s, "/")
	if !ok || (b != "*" && b != "0") {
		return 0, false
	}
	v, err := strconv.Atoi(n)
	return v, err == nil && v > 0
}

func dowWords(s string) (string, bool) {
	if a, b, ok := strings.Cut(s, "-"); ok {
		x, ok1 := number(a, 7)
		y, ok2 := number(b, 7)
		if !ok1 || !ok2 {
			return "", false
		}
		return dayNames[x%7] + " to " + dayNames[y%7], true
	}
	var names []string
	for _, p := range strings.Split(s, ",") {
		x, ok := number(p, 7)
		if !ok {
			return "", false
		}
		names = append(names, dayNames[x%7])
	}
	if len(names) > 1 {
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1], true
	}
	return names[0], true
}

func plural(n int, unit string) string {
	if n == 1 {
		return unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// durationWords writes 2h as "2 hours", 90m as "1 hour 30 minutes", 1h as "hour".
func durationWords(d time.Duration) string {
	if d <= 0 {
		return d.String()
	}
	parts := []struct {
		unit string
		d    time.Duration
	}{{"day", 24 * time.Hour}, {"hour", time.Hour}, {"minute", time.Minute}, {"second", time.Second}}
	var out []string
	for _, p := range parts {
		if n := int(d / p.d); n > 0 {
			out = append(out, fmt.Sprintf("%d %s", n, p.unit)+map[bool]string{true: "s"}[n > 1])
			d -= time.Duration(n) * p.d
		}
	}
	if len(out) == 0 {
		return d.String()
	}
	if len(out) == 1 && strings.HasPrefix(out[0], "1 ") {
		return strings.TrimPrefix(out[0], "1 ")
	}
	return strings.Join(out, " ")
}
