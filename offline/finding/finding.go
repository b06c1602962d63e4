// Package finding is the contract of a scan's result: one row that one pack query
// returned over the evidence, with the query's ATT&CK technique and severity and
// where the row's events are. offline/scan makes findings, offline/report writes
// them, and the pack evaluation reads them; the JSON form is what `exechunt scan
// --format json` prints, one object per finding:
//
//	{"pack":"execution-basics","query":"lolbin_proxy_execution","technique":"T1218","severity":"high",
//	 "evidence":{"file":"Sysmon.evtx","locator":"chunk 0 record 3","event_record_ids":[7]},
//	 "row":{"time":1568986437,"name":"hh.exe","score":80,"evidence":"{…}"}}
//
// with the row's columns in query order and its values typed (numbers stay
// numbers, NULL is null).
package finding

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/exechunt/exechunt/tables/evidenceref"
)

// Finding is one row of one query.
type Finding struct {
	Pack      string
	Query     string
	Technique string // ATT&CK id, "" when the query names none
	Severity  string // "" when the query names none
	// Evidence is where the row's events are, from its "evidence" column (empty
	// when the query does not select one).
	Evidence evidenceref.Ref
	Columns  []string       // the row's columns, in query order
	Row      map[string]any // column → value: int64, float64, string or nil
}

// Values returns the row's values in column order.
func (f *Finding) Values() []any {
	vals := make([]any, len(f.Columns))
	for i, c := range f.Columns {
		vals[i] = f.Row[c]
	}
	return vals
}

// Text returns a column's value as osquery prints it (NULL and a missing column
// are "").
func (f *Finding) Text(col string) string { return Text(f.Row[col]) }

// Text renders a value as osquery does in its text outputs (NULL is empty).
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// head is the finding's JSON object without its row, in output order.
type head struct {
	Pack      string          `json:"pack"`
	Query     string          `json:"query"`
	Technique string          `json:"technique,omitempty"`
	Severity  string          `json:"severity,omitempty"`
	Evidence  evidenceref.Ref `json:"evidence"`
}

// MarshalJSON renders the finding with its row's columns in query order. HTML
// characters are not escaped (command lines are full of < > &); json.Marshal of a
// Finding escapes them again, so writers call MarshalJSON directly.
func (f Finding) MarshalJSON() ([]byte, error) {
	h, err := MarshalNoEscape(head{f.Pack, f.Query, f.Technique, f.Severity, f.Evidence})
	if err != nil {
		return nil, err
	}
	row, err := MarshalRow(f.Columns, f.Values())
	if err != nil {
		return nil, err
	}
	out := append(h[:len(h)-1], `,"row":`...)
	out = append(out, row...)
	return append(out, '}'), nil
}

// UnmarshalJSON reads what MarshalJSON writes: the row's columns keep their order,
// integral numbers become int64 and others float64.
func (f *Finding) UnmarshalJSON(b []byte) error {
	var v struct {
		head
		Row json.RawMessage `json:"row"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("finding: %w", err)
	}
	cols, row, err := unmarshalRow(v.Row)
	if err != nil {
		return fmt.Errorf("finding %s/%s: row: %w", v.Pack, v.Query, err)
	}
	*f = Finding{Pack: v.Pack, Query: v.Query, Technique: v.Technique, Severity: v.Severity, Evidence: v.Evidence, Columns: cols, Row: row}
	return nil
}

func unmarshalRow(b json.RawMessage) ([]string, map[string]any, error) {
	row := map[string]any{}
	if len(b) == 0 || string(b) == "null" {
		return nil, row, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, fmt.Errorf("want an object")
	}
	var cols []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		col, _ := t.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				v = i
			} else {
				v, _ = n.Float64()
			}
		}
		if _, dup := row[col]; !dup {
			cols = append(cols, col)
		}
		row[col] = v
	}
	return cols, row, nil
}

// MarshalRow renders one row as a JSON object with the columns in query order and
// typed values (numbers stay numbers, NULL is null, []byte is text).
func MarshalRow(cols []string, vals []any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(c)
		b.Write(k)
		b.WriteByte(':')
		v := vals[i]
		if bs, ok := v.([]byte); ok {
			v = string(bs)
		}
		enc, err := MarshalNoEscape(v)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c, err)
		}
		b.Write(enc)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// MarshalNoEscape is json.Marshal without HTML escaping.
func MarshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
