//go:build !linux

package lineage

import (
	"errors"
	"io"
	"os"
)

// readFile reads up to limit bytes of name into *buf (reused across calls and grown
// as needed) and returns them. procfs files report size 0, so it reads until EOF.
func readFile(name string, buf *[]byte, limit int) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := (*buf)[:0]
	for len(b) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		room := b[len(b):min(cap(b), limit)]
		n, err := f.Read(room)
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			*buf = b
			return nil, err
		}
		if n == 0 {
			break
		}
	}
	*buf = b
	return b, nil
}

// readLink returns the target of the symbolic link name.
func readLink(name string) (string, error) { return os.Readlink(name) }

// ownerUID is not available off Linux: the static-field cache is then never used.
func ownerUID(string) (uint32, bool) { return 0, false }

// openDir is not used off Linux: readFileAt then reads by path.
func openDir(string) (int, error) { return -1, errors.ErrUnsupported }

// readFileAt reads dir/name (off Linux always by path).
func readFileAt(_ int, dir, name string, buf *[]byte, limit int) ([]byte, error) {
	return readFile(dir+"/"+name, buf, limit)
}

// keepOpenSupported is false off Linux: List opens every stat file anew.
const keepOpenSupported = false

func openAt(int, string, string) (int, error) { return -1, errors.ErrUnsupported }

func preadFD(int, string, *[]byte, int) ([]byte, error) { return nil, errors.ErrUnsupported }

func closeFD(int) {}

func openFileLimit() int { return 0 }

func readFD(int, string, *[]byte, int) ([]byte, error) { return nil, errors.ErrUnsupported }
