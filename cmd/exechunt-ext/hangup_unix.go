//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// onHangup calls reload at each SIGHUP (one at a time) until the returned stop is
// called.
func onHangup(reload func()) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ch:
				reload()
			case <-quit:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(quit)
		<-done
	}
}
