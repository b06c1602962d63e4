// Package lineage is the live process_lineage table: one row per running process
// with its whole ancestry (`systemd > sshd > bash > python3`, root first), its
// parent's fields, a stable process GUID and the command-line analysis of package
// analysis.
//
// The columns and their meanings are package schema's, shared with the offline
// process_lineage (tables/eventtables, built from process-creation events); the
// logic is package tree's, shared too: linking a process to its parent, cutting
// chains at pid reuse, cycles and unknown parents, scoring with the ancestors'
// scores, formatting rows, caching analysis. docs/process_lineage.md says what each
// column means. This package adds only where live processes come from: the OS
// behind Source, a two-method interface (List, Get) defined here, its consumer,
// and History (exited ancestors, e.g. the event tables' Sysmon process creations).
// Everything but the Sources is pure and tested on every OS with a fake Source.
//
// Sources, by file:
//
//   - procfs.go: Linux /proc under a root directory (so tests point it at a
//     synthetic tree). It has no build tag: it only reads files, so its tests run
//     on every OS; source_linux.go makes it the default on Linux. Clock ticks are
//     converted at 100 Hz (USER_HZ, which Linux exports as 100 on every
//     architecture; sysconf(_SC_CLK_TCK) would need cgo). A full listing keeps each
//     process's stat file open for the next one (up to DefaultKeepOpen, and half
//     the open-file limit): procfs regenerates the file on every read from offset
//     0 and fails the read once the process has exited, so a warm listing costs one
//     pread per process instead of open, read and close. Command lines, paths and
//     users are cached per incarnation (pid + start time) and re-checked when comm
//     or the /proc/<pid> owner changes.
//   - source_windows.go: a Toolhelp snapshot for pid, ppid and image name, then
//     per process QueryFullProcessImageName, GetProcessTimes (creation time, used
//     for pid reuse), the token's user and the command line through
//     NtQueryInformationProcess(ProcessCommandLineInformation), which copies it
//     into our own buffer (Windows 8.1 and later; no remote PEB reads).
//   - source_darwin.go: sysctl kern.proc.all / kern.proc.pid and kern.procargs2,
//     pure Go (no cgo), best effort: path and command line only where permitted.
//   - source_other.go: every call fails with ErrUnsupported.
//
// WHERE pid = N is answered from that process and its ancestors only (Get walks
// up through the parent ids); it never lists every process.
//
// A chain that cannot reach a root is cut and marked: its ancestry starts with
// "?" and lineage_status says why (parent_unknown, pid_reused, cycle, truncated).
// An optional History (Sysmon process-creation events) fills in command lines and
// ancestors that already exited; its lookups take the query's context.
package lineage
