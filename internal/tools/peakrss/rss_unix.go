//go:build linux || darwin

package main

import (
	"os"
	"syscall"
)

// maxRSS returns the child's peak RSS in bytes (getrusage's ru_maxrss, in
// rssUnit bytes on this system).
func maxRSS(ps *os.ProcessState) (int64, bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, false
	}
	return ru.Maxrss * rssUnit, true
}
