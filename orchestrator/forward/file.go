package forward

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/natefinch/lumberjack.v2"
)

// file appends one event a line to a JSON-lines file, rotated by size with
// lumberjack (the rotated files get a timestamp in their names; the newest
// maxFiles are kept).
type file struct {
	w *lumberjack.Logger
}

func newFile(path string, maxSizeMB, maxFiles int) (*file, error) {
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("folder %s does not exist", dir)
	}
	return &file{w: &lumberjack.Logger{Filename: path, MaxSize: maxSizeMB, MaxBackups: maxFiles, LocalTime: false}}, nil
}

func (f *file) Deliver(ctx context.Context, batch [][]byte) error {
	for _, p := range batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		line := append(append(make([]byte, 0, len(p)+1), p...), '\n')
		if _, err := f.w.Write(line); err != nil {
			return err
		}
	}
	return nil
}

func (f *file) Close() error { return f.w.Close() }
