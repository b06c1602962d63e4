package catalogeval

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Categories are the LOLBAS categories the evaluation counts: the ones that make a
// binary run, fetch or build code. The others (ADS, Copy, Dump, Credentials, Tamper,
// Reconnaissance, Upload, Encode, Decode, Conceal) are listed as out of scope.
var Categories = map[string]bool{
	"Execute":    true,
	"AWL Bypass": true,
	"Download":   true,
	"Compile":    true,
	"UAC Bypass": true,
}

// Entry is one YAML file of the catalog: a binary, script or library.
type Entry struct {
	Name     string    `yaml:"Name"`
	Commands []Command `yaml:"Commands"`
	FullPath []struct {
		Path string `yaml:"Path"`
	} `yaml:"Full_Path"`

	Kind string `yaml:"-"` // its folder: OSBinaries, OSLibraries, OSScripts, OtherMSBinaries, HonorableMentions
	File string `yaml:"-"` // its path below yml/
}

// Command is one documented abuse of an entry.
type Command struct {
	Command     string `yaml:"Command"`
	Description string `yaml:"Description"`
	Usecase     string `yaml:"Usecase"`
	Category    string `yaml:"Category"`
	Privileges  string `yaml:"Privileges"`
	MitreID     string `yaml:"MitreID"`
}

// Paths returns the entry's Full_Path values.
func (e *Entry) Paths() []string {
	out := make([]string, 0, len(e.FullPath))
	for _, p := range e.FullPath {
		if s := strings.TrimSpace(p.Path); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Load reads every yml/**/*.yml of the LOLBAS catalog in dir, sorted by file.
func Load(dir string) ([]*Entry, error) {
	root := filepath.Join(dir, "yml")
	var out []*Entry
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		e := &Entry{}
		if err := yaml.Unmarshal(data, e); err != nil {
			return fmt.Errorf("catalogeval: %s: %w", path, err)
		}
		rel, _ := filepath.Rel(root, path)
		e.File = filepath.ToSlash(rel)
		e.Kind, _, _ = strings.Cut(e.File, "/")
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("catalogeval: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("catalogeval: no LOLBAS entries in %s", root)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out, nil
}
