package extension

import (
	"encoding/json"
	"io"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/tables/tablekit"
)

// Specs returns the osquery-go spec (table.Plugin.Spec) of each table, with the
// platforms the table declares (all three when it declares none) rather than the
// GOOS of the build, so that the published schema is the same from every OS.
func Specs(tables []tablekit.Table) []table.OsqueryTableSpec {
	specs := make([]table.OsqueryTableSpec, 0, len(tables))
	for _, t := range tables {
		s := tablekit.Plugin(t, tablekit.Options{}).Spec()
		s.Platforms = s.Platforms[:0]
		for _, p := range []string{"darwin", "linux", "windows"} {
			if !declares(t.Platforms, p) {
				continue
			}
			switch p {
			case "darwin":
				s.Platforms = append(s.Platforms, table.DarwinPlatform)
			case "linux":
				s.Platforms = append(s.Platforms, table.LinuxPlatform)
			case "windows":
				s.Platforms = append(s.Platforms, table.WindowsPlatform)
			}
		}
		specs = append(specs, s)
	}
	return specs
}

func declares(platforms []string, p string) bool {
	if len(platforms) == 0 {
		return true
	}
	for _, q := range platforms {
		if q == p {
			return true
		}
	}
	return false
}

// WriteSpec writes Specs(tables) as an indented JSON array (the --spec output).
func WriteSpec(w io.Writer, tables []tablekit.Table) error {
	b, err := json.MarshalIndent(Specs(tables), "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
