// Package tree is the one implementation of process_lineage's logic, shared by the
// live table (tables/lineage: running processes) and the offline one
// (tables/eventtables: process creations in evidence): linking a process to its
// parent and walking to the root with cycle, pid-reuse and depth guards (Resolver),
// the analysis input and its cache (Scorer), and the row (Row). Each side only says
// where processes come from (a View and an optional History), so both tables give
// every column the same meaning (package schema).
package tree

import (
	"strings"
	"time"

	"github.com/exechunt/exechunt/tables/event"
)

// Proc is one process as a live source, a history or a process-creation event knows
// it. Only PID is required; every other field may be empty.
type Proc struct {
	PID, PPID int64
	Name      string // short name as the OS gives it (comm, image name); the name column prefers Path
	Path      string // executable path
	Cmdline   string // full command line, arguments quoted where needed
	// ArgvQuoted, when set, is Cmdline with the argument boundaries a joined line
	// lost (an audit event's argv): what the analysis reads.
	ArgvQuoted string
	User       string    // user name (or numeric id when it cannot be resolved)
	Start      time.Time // creation time; the zero value means unknown (no pid-reuse check)
	GUID       string    // a stable id given by the source (Sysmon's ProcessGuid, lower case, no braces); derived when empty
	// Host scopes pids when the evidence of several hosts is read together; empty
	// for a live host.
	Host string
	// ParentGUID, ParentPath and ParentCmdline are what the process's own creation
	// record says of its parent (Sysmon, 4688); a live process table leaves them empty.
	ParentGUID, ParentPath, ParentCmdline string
	// Context the analysis uses when the record gives it (Sysmon): the working
	// directory and the image's PE version resource.
	CurrentDirectory, OriginalFileName, Description, Product, Company string
}

// FromCreation is the one mapping from a process-creation event to a Proc.
func FromCreation(e *event.Event) Proc {
	p := FromProcessCreation(e.ProcessCreation)
	p.Start, p.Host = e.Time, strings.ToLower(e.Computer)
	return p
}

// FromProcessCreation maps an event's process-creation fields (no time or host).
func FromProcessCreation(c *event.ProcessCreation) Proc {
	return Proc{
		PID: c.PID, PPID: c.ParentPID, Path: c.Image, Cmdline: c.Cmdline, ArgvQuoted: c.ArgvQuoted, User: c.User, GUID: c.ProcessGUID,
		ParentGUID: c.ParentProcessGUID, ParentPath: c.ParentImage, ParentCmdline: c.ParentCmdline,
		CurrentDirectory: c.CurrentDirectory, OriginalFileName: c.OriginalFileName, Description: c.Description,
		Product: c.Product, Company: c.Company,
	}
}

// reported reports whether p's record describes its parent (then the parent_*
// columns and the analysis take the parent from the record, as it was when p was
// created).
func (p *Proc) reported() bool { return p.ParentPath != "" || p.ParentCmdline != "" }
