package main

import (
	"os"
	"syscall"
)

// maxRSS returns the child's peak RSS in bytes (Linux reports KiB).
func maxRSS(ps *os.ProcessState) (int64, bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, false
	}
	return ru.Maxrss * 1024, true
}
