package evtx

import (
	"strconv"

	"github.com/Velocidex/ordereddict"
)

// dictFields exposes a record's EventData (or UserData) dict as event.Fields without
// copying it. Velocidex normalises <Data Name="X">v</Data> lists to {X: v}; unnamed
// data (PowerShell 800) stays a list and is exposed as "#0", "#1", ….
type dictFields struct {
	named *ordereddict.Dict
	list  []any
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
	if data, ok := d.Get("Data"); ok && d.Len() == 1 {
		switch t := data.(type) {
		case []any:
			f.list = t
			return f
		case string:
			f.list = []any{t}
			return f
		}
	}
	f.named = d
	return f
}

// Get implements event.Fields.
func (f dictFields) Get(name string) (string, bool) {
	if f.named != nil {
		v, ok := f.named.Get(name)
		if !ok {
			return "", false
		}
		return str(v), true
	}
	if len(name) > 1 && name[0] == '#' {
		i, err := strconv.Atoi(name[1:])
		if err == nil && i >= 0 && i < len(f.list) {
			return str(f.list[i]), true
		}
	}
	return "", false
}

// Each implements event.Fields.
func (f dictFields) Each(fn func(name, value string)) {
	if f.named != nil {
		for _, k := range f.named.Keys() {
			v, _ := f.named.Get(k)
			fn(k, str(v))
		}
		return
	}
	for i, v := range f.list {
		fn("#"+strconv.Itoa(i), str(v))
	}
}
