// Command lolbas is an exechunt plugin serving the lolbas_catalog table: Windows
// binaries, scripts and libraries that attackers abuse to execute code, download
// files or evade application control ("living off the land"), with the abused
// function, its ATT&CK technique, an example command line and the LOLBAS page.
//
// Join it with the event tables to name what a process creation abused:
//
//	SELECT p.time, p.cmdline, l.function, l.technique
//	FROM process_creation_events p JOIN lolbas_catalog l ON l.name = lower(p.name);
//
// Built by `make build` into bin/plugins/lolbas; see docs/plugins.md.
package main

import "github.com/exechunt/exechunt/extension/pluginsdk"

func main() { pluginsdk.Serve(catalogTable()) }
