package agentapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// flexInt is an integer that osquery may send as a JSON number or, in older agents
// and the documentation's examples, as a string ("9", "1785931200"). null and "" are 0.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*f = 0
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*f = 0
			return nil
		}
		b = []byte(s)
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*f = flexInt(n)
		return nil
	}
	// Accept integral floats (1.785931200e9), which some JSON encoders write.
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || v != float64(int64(v)) {
		// The value is not echoed: error answers never repeat what a client sent.
		return errors.New("not an integer")
	}
	*f = flexInt(int64(v))
	return nil
}

// flexString is a column value: a string normally, a number or bool when the agent
// runs with --logger_numerics, null for SQL NULL (stored as "").
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case b[0] == '{' || b[0] == '[':
		*f = flexString(b)
	default:
		*f = flexString(b) // number or bool, as written
	}
	return nil
}

// row is one result row with flexible values.
type row map[string]flexString

func (r row) strings() map[string]string {
	m := make(map[string]string, len(r))
	for k, v := range r {
		m[k] = string(v)
	}
	return m
}
