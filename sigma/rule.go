// Package sigma converts Sigma rules (https://sigmahq.io) into exechunt pack queries:
// SQL over the extension's tables that runs the same under osqueryd and in the
// offline engine (`exechunt scan`).
//
// Supported logsources: category process_creation (product windows or linux) →
// process_creation_events, and category ps_script (product windows) →
// powershell_script_blocks. Every Sigma modifier is either translated exactly or the
// rule is reported as unsupported with the reason (Unsupported); nothing is dropped
// silently. See docs/sigma.md.
package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Rule is the part of a Sigma rule the converter reads.
type Rule struct {
	File           string // where it was read from (for messages)
	ID             string
	Title          string
	Description    string
	Status         string
	Level          string
	Author         string
	Tags           []string
	FalsePositives []string
	References     []string
	Logsource      Logsource
	Detection      Detection
	// Correlation is set for Sigma correlation rules (never convertible).
	Correlation bool
}

// Logsource is the rule's logsource.
type Logsource struct {
	Category string
	Product  string
	Service  string
}

// Detection is the rule's detection section: named searches and the condition(s).
type Detection struct {
	Searches   map[string]*Search
	Order      []string // search names in file order
	Conditions []string // several conditions are OR-ed (Sigma 1.0 allows a list)
	Timeframe  string
}

// Search is one named search: a list of field maps (OR-ed; the fields of one map are
// AND-ed), or a list of keywords (full-text search, not convertible).
type Search struct {
	Maps     [][]FieldMatch
	Keywords []Value
}

// FieldMatch is one "Field|mod|mod: values" entry.
type FieldMatch struct {
	Field     string
	Modifiers []string
	Values    []Value
}

// Value is one scalar of a detection.
type Value struct {
	S    string // the text as written (numbers and booleans in their YAML spelling)
	Kind ValueKind
}

// ValueKind is a Value's YAML type.
type ValueKind int

const (
	StringValue ValueKind = iota
	IntValue
	BoolValue
	NullValue
)

// ParseRule reads one Sigma rule (the first YAML document of data; a rule file with
// several documents — the old "action: global" collections — is refused).
func ParseRule(file string, data []byte) (*Rule, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s: several YAML documents (rule collections are not supported)", file)
	} else if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a YAML mapping", file)
	}
	r := &Rule{File: file}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i].Value, top.Content[i+1]
		switch k {
		case "id":
			r.ID = v.Value
		case "title":
			r.Title = v.Value
		case "description":
			r.Description = strings.TrimSpace(v.Value)
		case "status":
			r.Status = v.Value
		case "level":
			r.Level = v.Value
		case "author":
			r.Author = v.Value
		case "tags":
			r.Tags = scalars(v)
		case "falsepositives":
			r.FalsePositives = scalars(v)
		case "references":
			r.References = scalars(v)
		case "correlation":
			r.Correlation = true
		case "logsource":
			for j := 0; j+1 < len(v.Content); j += 2 {
				switch v.Content[j].Value {
				case "category":
					r.Logsource.Category = v.Content[j+1].Value
				case "product":
					r.Logsource.Product = v.Content[j+1].Value
				case "service":
					r.Logsource.Service = v.Content[j+1].Value
				}
			}
		case "detection":
			d, err := parseDetection(v)
			if err != nil {
				return nil, fmt.Errorf("%s: detection: %w", file, err)
			}
			r.Detection = d
		}
	}
	if r.Title == "" && r.ID == "" {
		return nil, fmt.Errorf("%s: not a Sigma rule (no title, no id)", file)
	}
	return r, nil
}

func scalars(n *yaml.Node) []string {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		return []string{n.Value}
	case yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			out = append(out, scalars(c)...)
		}
		return out
	}
	return nil
}

func parseDetection(n *yaml.Node) (Detection, error) {
	d := Detection{Searches: map[string]*Search{}}
	if n.Kind != yaml.MappingNode {
		return d, errors.New("not a mapping")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		switch k {
		case "condition":
			d.Conditions = scalars(v)
			continue
		case "timeframe":
			d.Timeframe = v.Value
			continue
		}
		s, err := parseSearch(v)
		if err != nil {
			return d, fmt.Errorf("%s: %w", k, err)
		}
		d.Searches[k] = s
		d.Order = append(d.Order, k)
	}
	if len(d.Conditions) == 0 {
		return d, errors.New("no condition")
	}
	return d, nil
}

func parseSearch(n *yaml.Node) (*Search, error) {
	s := &Search{}
	switch n.Kind {
	case yaml.MappingNode:
		if err := s.addFieldMap(n); err != nil {
			return nil, err
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			switch c.Kind {
			case yaml.MappingNode:
				if err := s.addFieldMap(c); err != nil {
					return nil, err
				}
			case yaml.ScalarNode:
				s.Keywords = append(s.Keywords, scalarValue(c))
			default:
				return nil, errors.New("a list item is neither a field map nor a keyword")
			}
		}
		if len(s.Maps) > 0 && len(s.Keywords) > 0 {
			return nil, errors.New("a list mixes field maps and keywords")
		}
	case yaml.ScalarNode:
		s.Keywords = append(s.Keywords, scalarValue(n))
	default:
		return nil, errors.New("unexpected YAML node")
	}
	return s, nil
}

// addFieldMap parses a field map of the search (a mapping, alone or in a list).
func (s *Search) addFieldMap(n *yaml.Node) error {
	m, err := parseFieldMap(n)
	if err != nil {
		return err
	}
	s.Maps = append(s.Maps, m)
	return nil
}

func parseFieldMap(n *yaml.Node) ([]FieldMatch, error) {
	var out []FieldMatch
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, v := n.Content[i].Value, n.Content[i+1]
		parts := strings.Split(key, "|")
		fm := FieldMatch{Field: parts[0], Modifiers: parts[1:]}
		switch v.Kind {
		case yaml.ScalarNode:
			fm.Values = []Value{scalarValue(v)}
		case yaml.SequenceNode:
			for _, c := range v.Content {
				if c.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("%s: a value is not a scalar", key)
				}
				fm.Values = append(fm.Values, scalarValue(c))
			}
			if len(fm.Values) == 0 {
				return nil, fmt.Errorf("%s: empty list of values", key)
			}
		default:
			return nil, fmt.Errorf("%s: a value is not a scalar or a list", key)
		}
		out = append(out, fm)
	}
	return out, nil
}

func scalarValue(n *yaml.Node) Value {
	switch n.Tag {
	case "!!null":
		return Value{Kind: NullValue}
	case "!!int":
		if _, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return Value{S: n.Value, Kind: IntValue}
		}
	case "!!bool":
		return Value{S: strings.ToLower(n.Value), Kind: BoolValue}
	}
	return Value{S: n.Value, Kind: StringValue}
}
