// Command peakrss runs a command with its output discarded and prints the command's
// wall time and peak resident set size, for `make bench`:
//
//	go run ./internal/tools/peakrss -- bin/exechunt events ../shared/corpus
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: peakrss -- COMMAND [ARG...]")
		os.Exit(2)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			fmt.Fprintln(os.Stderr, "peakrss:", err)
			os.Exit(1)
		}
	}
	rss, ok := maxRSS(cmd.ProcessState)
	peak := "unknown on this OS"
	if ok {
		peak = fmt.Sprintf("%.1f MiB", float64(rss)/(1<<20))
	}
	fmt.Printf("peak RSS %s, wall %s, exit %d: %s\n", peak, time.Since(start).Round(time.Millisecond),
		cmd.ProcessState.ExitCode(), strings.Join(args, " "))
}
