//go:build !unix

package main

// onHangup does nothing where there is no SIGHUP (Windows): the Sigma rules are
// read at start.
func onHangup(func()) (stop func()) { return func() {} }
