// Command exechunt.ext is the exechunt osquery extension. osqueryd starts it with
// --socket, --timeout, --interval and optionally --verbose.
//
// The hunt tables are served from issue 4 on; until then the binary parses osquery's
// flags and refuses to start with a clear message rather than pretending to work.
package main

import (
	"flag"
	"fmt"
	"os"
)

var version = "dev"

func main() {
	fs := flag.NewFlagSet("exechunt.ext", flag.ContinueOnError)
	socket := fs.String("socket", "", "path of osqueryd's extension socket")
	fs.Int("timeout", 3, "seconds to wait for the socket")
	fs.Int("interval", 3, "seconds between health checks")
	fs.Bool("verbose", false, "verbose logging")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *showVersion {
		fmt.Println("exechunt.ext", version)
		return
	}
	fmt.Fprintf(os.Stderr, "exechunt.ext %s: no osquery tables are served by this build yet (socket %q); use `exechunt events` for offline evidence\n", version, *socket)
	os.Exit(1)
}
