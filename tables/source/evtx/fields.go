package evtx

import (
	"strconv"

	"github.com/Velocidex/ordereddict"
)

// dictFields exposes a record's EventData (or UserData) dict as event.Fields without
// copying it. Velocidex normalises <Data Name="X">v</Data> lists to {X: v} when the
// EventData comes from a nested template; otherwise the items stay a list (of strings
// for unnamed data such as PowerShell 800's, []string for a string array, or {Name,
// Value} dicts). Named list items keep their name; unnamed ones are "#0", "#1", … in
// order among the unnamed, as in xmlevent.
type dictFields struct {
	named *ordereddict.Dict
	list  []any // the Data items when they are a list; named then holds the rest
}

func newDictFields(ev *ordereddict.Dict) dictFields {
	var f dictFields
	v, ok := ev.Get("EventData")
	if !ok {
		v, ok = ev.Get("UserData")
		if d, isDict := v.(*ordereddict.Dict); ok && isDict && d.Len() == 1 {
			// UserData wraps its values in one provider-named element.
			inner, _ := d.Get(d.Keys()[0])
			v = inner
		}
	}
	d, _ := v.(*ordereddict.Dict)
	if d == nil {
		return f
	}
	f.named = d
	data, ok := d.Get("Data")
	if !ok {
		return f
	}
	switch t := data.(type) {
	case []any:
		f.list = t
	case []string:
		f.list = make([]any, len(t))
		for i, s := range t {
			f.list[i] = s
		}
	case string, *ordereddict.Dict:
		if d.Len() > 1 {
			return f // a field named "Data" among named ones
		}
		f.list = []any{t}
	default:
		return f
	}
	rest := ordereddict.NewDict()
	for _, k := range d.Keys() {
		if k != "Data" {
			v, _ := d.Get(k)
			rest.Set(k, v)
		}
	}
	f.named = rest
	return f
}

// item is the name (empty when unnamed) and the value of one list item.
func item(v any) (name string, value any) {
	d, ok := v.(*ordereddict.Dict)
	if !ok {
		return "", v
	}
	n, _ := d.Get("Name")
	name, _ = n.(string)
	value, _ = d.Get("Value")
	return name, value
}

// Get implements event.Fields.
func (f dictFields) Get(name string) (string, bool) {
	if f.named != nil {
		if v, ok := f.named.Get(name); ok {
			return str(v), true
		}
	}
	var got string
	found := false
	f.each(func(k string, v any) bool {
		if k == name {
			got, found = str(v), true
			return false
		}
		return true
	})
	return got, found
}

// Each implements event.Fields.
func (f dictFields) Each(fn func(name, value string)) {
	f.each(func(k string, v any) bool { fn(k, str(v)); return true })
	if f.named != nil {
		for _, k := range f.named.Keys() {
			v, _ := f.named.Get(k)
			fn(k, str(v))
		}
	}
}

// each walks the list items with their exposed names until fn returns false.
func (f dictFields) each(fn func(name string, value any) bool) {
	n := 0
	for _, it := range f.list {
		name, v := item(it)
		if name == "" {
			name = "#" + strconv.Itoa(n)
			n++
		}
		if !fn(name, v) {
			return
		}
	}
}
