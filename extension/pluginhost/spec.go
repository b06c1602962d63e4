package pluginhost

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Spec names one plugin executable and the SHA-256 it must have.
type Spec struct {
	Path   string // absolute path of the executable
	SHA256 string // hex, 64 digits
}

// ErrInvalidSpec is wrapped by the errors of Check, ParseFlag and ReadChecksums.
var ErrInvalidSpec = errors.New("invalid plugin")

// Check validates the spec: an absolute, clean path and a 64-digit hex SHA-256.
func (s Spec) Check() error {
	_, err := s.sum()
	return err
}

func (s Spec) sum() ([]byte, error) {
	if !filepath.IsAbs(s.Path) {
		return nil, fmt.Errorf("%w: %q: the path must be absolute", ErrInvalidSpec, s.Path)
	}
	if filepath.Clean(s.Path) != s.Path {
		return nil, fmt.Errorf("%w: %q: the path must be clean (no .., //, trailing slash)", ErrInvalidSpec, s.Path)
	}
	sum, err := hex.DecodeString(s.SHA256)
	if err != nil || len(sum) != 32 {
		return nil, fmt.Errorf("%w: %s: sha256 must be 64 hex digits, got %q", ErrInvalidSpec, s.Path, s.SHA256)
	}
	return sum, nil
}

// name is how messages name the plugin: its file name.
func (s Spec) name() string { return filepath.Base(s.Path) }

// ParseFlag parses a command-line plugin argument, PATH or PATH:SHA256 (the
// checksum is recognised as the part after the last colon when it is 64 hex
// digits, so Windows drive letters are fine). A relative PATH is made absolute.
// Without a checksum the file's current SHA-256 is used: naming a binary on one's
// own command line is as trusting it as running it.
func ParseFlag(arg string) (Spec, error) {
	path, sum := arg, ""
	if i := strings.LastIndexByte(arg, ':'); i >= 0 && len(arg)-i-1 == 64 {
		if _, err := hex.DecodeString(arg[i+1:]); err == nil {
			path, sum = arg[:i], strings.ToLower(arg[i+1:])
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Spec{}, fmt.Errorf("%w: %q: %v", ErrInvalidSpec, path, err)
	}
	if sum == "" {
		if sum, err = FileSHA256(abs); err != nil {
			return Spec{}, fmt.Errorf("%w: %v", ErrInvalidSpec, err)
		}
	}
	s := Spec{Path: abs, SHA256: sum}
	return s, s.Check()
}

// FileSHA256 returns the hex SHA-256 of the file at path.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ReadChecksums reads a checksum file in sha256sum's format ("<hex>  <name>" or
// "<hex> *<name>" a line; blank lines and lines starting with # are skipped) and
// returns one Spec per line for the file name in dir. Names must be plain file
// names: a name with a path separator or "..", a malformed line or a name given
// twice is an error naming the line.
func ReadChecksums(dir, file string) ([]Spec, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("%w: plugin_dir %q must be absolute", ErrInvalidSpec, dir)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("plugin checksums: %w", err)
	}
	var specs []Spec
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, name, ok := strings.Cut(line, " ")
		name = strings.TrimPrefix(strings.TrimLeft(name, " "), "*")
		bad := func(why string) error { return fmt.Errorf("%w: %s:%d: %s", ErrInvalidSpec, file, n, why) }
		switch {
		case !ok || name == "":
			return nil, bad(`want "<sha256>  <file name>"`)
		case strings.ContainsAny(name, `/\`) || name == "." || name == "..":
			return nil, bad(fmt.Sprintf("%q must be a plain file name in %s", name, dir))
		case seen[name]:
			return nil, bad(fmt.Sprintf("%s is listed twice", name))
		}
		seen[name] = true
		s := Spec{Path: filepath.Join(dir, name), SHA256: strings.ToLower(sum)}
		if err := s.Check(); err != nil {
			return nil, bad(err.Error())
		}
		specs = append(specs, s)
	}
	return specs, sc.Err()
}
