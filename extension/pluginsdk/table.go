package pluginsdk

import (
	"context"
	"slices"

	"github.com/osquery/osquery-go/plugin/table"
)

// Table is one hunt table served by a plugin: osquery-go's table contract.
//
// Generate gets the constraints osquery pushed down (constraint push-down works as
// in an osquery-go extension) and must honour ctx: the host gives each call a
// deadline and cancels it when the query is abandoned. A row is a map of column
// name to value; a column left out is NULL.
//
// A Table may also implement Describer and PlatformLister.
type Table interface {
	Name() string
	Columns() []table.ColumnDefinition
	Generate(ctx context.Context, qc table.QueryContext) ([]map[string]string, error)
}

// Describer is implemented by a Table with a description (osquery's table
// description, shown in the schema).
type Describer interface {
	Description() string
}

// PlatformLister is implemented by a Table that runs on some platforms only
// ("linux", "windows", "darwin"); no list means every platform.
type PlatformLister interface {
	Platforms() []string
}

// TableOption sets an optional property of a table made by NewTable.
type TableOption func(*funcTable)

// WithDescription sets the table's description.
func WithDescription(d string) TableOption { return func(t *funcTable) { t.description = d } }

// WithPlatforms limits the table to the given platforms ("linux", "windows",
// "darwin"); by default it runs on every platform.
func WithPlatforms(p ...string) TableOption {
	return func(t *funcTable) { t.platforms = slices.Clone(p) }
}

// NewTable makes a Table from a name, columns and a generate function, as
// osquery-go's table.NewPlugin does.
func NewTable(name string, columns []table.ColumnDefinition, generate table.GenerateFunc, opts ...TableOption) Table {
	t := &funcTable{name: name, columns: slices.Clone(columns), generate: generate}
	for _, o := range opts {
		o(t)
	}
	return t
}

type funcTable struct {
	name        string
	description string
	platforms   []string
	columns     []table.ColumnDefinition
	generate    table.GenerateFunc
}

func (t *funcTable) Name() string                      { return t.name }
func (t *funcTable) Description() string               { return t.description }
func (t *funcTable) Platforms() []string               { return t.platforms }
func (t *funcTable) Columns() []table.ColumnDefinition { return t.columns }

func (t *funcTable) Generate(ctx context.Context, qc table.QueryContext) ([]map[string]string, error) {
	return t.generate(ctx, qc)
}
