package main

import (
	"os"
	"syscall"
)

// maxRSS returns the child's peak RSS in bytes (macOS reports bytes).
func maxRSS(ps *os.ProcessState) (int64, bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, false
	}
	return ru.Maxrss, true
}
