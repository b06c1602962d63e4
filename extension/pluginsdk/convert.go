package pluginsdk

import (
	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/extension/pluginsdk/pluginproto"
)

// osquery's ColumnOptions bits (osquery/core/sql/column.h).
const (
	optIndex      = 1
	optRequired   = 2
	optAdditional = 4
	optOptimized  = 8
	optHidden     = 16
)

func columnsToProto(cols []table.ColumnDefinition) []*pluginproto.Column {
	out := make([]*pluginproto.Column, len(cols))
	for i, c := range cols {
		var opts uint32
		for _, o := range []struct {
			set bool
			bit uint32
		}{{c.Index, optIndex}, {c.Required, optRequired}, {c.Additional, optAdditional}, {c.Optimized, optOptimized}, {c.Hidden, optHidden}} {
			if o.set {
				opts |= o.bit
			}
		}
		out[i] = &pluginproto.Column{Name: c.Name, Type: string(c.Type), Description: c.Description, Options: opts}
	}
	return out
}

func columnsFromProto(cols []*pluginproto.Column) []table.ColumnDefinition {
	out := make([]table.ColumnDefinition, len(cols))
	for i, c := range cols {
		o := c.GetOptions()
		out[i] = table.ColumnDefinition{
			Name: c.GetName(), Type: table.ColumnType(c.GetType()), Description: c.GetDescription(),
			Index: o&optIndex != 0, Required: o&optRequired != 0, Additional: o&optAdditional != 0,
			Optimized: o&optOptimized != 0, Hidden: o&optHidden != 0,
		}
	}
	return out
}

func queryContextToProto(qc table.QueryContext) *pluginproto.QueryContext {
	out := &pluginproto.QueryContext{Constraints: make(map[string]*pluginproto.ConstraintList, len(qc.Constraints))}
	for name, cl := range qc.Constraints {
		l := &pluginproto.ConstraintList{Affinity: string(cl.Affinity)}
		for _, c := range cl.Constraints {
			l.Constraints = append(l.Constraints, &pluginproto.Constraint{Op: int32(c.Operator), Expr: c.Expression})
		}
		out.Constraints[name] = l
	}
	return out
}

func queryContextFromProto(qc *pluginproto.QueryContext) table.QueryContext {
	out := table.QueryContext{Constraints: make(map[string]table.ConstraintList, len(qc.GetConstraints()))}
	for name, cl := range qc.GetConstraints() {
		l := table.ConstraintList{Affinity: table.ColumnType(cl.GetAffinity()), Constraints: []table.Constraint{}}
		for _, c := range cl.GetConstraints() {
			l.Constraints = append(l.Constraints, table.Constraint{Operator: table.Operator(c.GetOp()), Expression: c.GetExpr()})
		}
		out.Constraints[name] = l
	}
	return out
}

// TableSpec is a table's schema as a plugin describes it.
type TableSpec struct {
	Name        string
	Description string
	Columns     []table.ColumnDefinition
	Platforms   []string // empty means every platform
}

func specToProto(t Table) *pluginproto.TableSpec {
	s := &pluginproto.TableSpec{Name: t.Name(), Columns: columnsToProto(t.Columns())}
	if d, ok := t.(Describer); ok {
		s.Description = d.Description()
	}
	if p, ok := t.(PlatformLister); ok {
		s.Platforms = p.Platforms()
	}
	return s
}

func specFromProto(s *pluginproto.TableSpec) TableSpec {
	return TableSpec{Name: s.GetName(), Description: s.GetDescription(), Columns: columnsFromProto(s.GetColumns()),
		Platforms: s.GetPlatforms()}
}
