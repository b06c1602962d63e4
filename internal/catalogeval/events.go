package catalogeval

import (
	"bufio"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// EvidenceFile is the name of the evidence file the evaluation writes.
const EvidenceFile = "lolbas-sysmon.jsonl"

// Sysmon's Event ID 1 as Winlogbeat exports it (the shape tables/source/jsonl reads).
type winlogbeat struct {
	Timestamp string `json:"@timestamp"`
	Winlog    struct {
		Channel      string            `json:"channel"`
		ComputerName string            `json:"computer_name"`
		EventID      int               `json:"event_id"`
		ProviderName string            `json:"provider_name"`
		RecordID     uint64            `json:"record_id"`
		Process      map[string]any    `json:"process"`
		User         map[string]string `json:"user"`
		EventData    map[string]string `json:"event_data"`
	} `json:"winlog"`
}

// base time of the first event; every case starts 97 s after the one before.
var baseTime = time.Date(2025, 3, 10, 8, 12, 0, 0, time.UTC)

// writer numbers the events and gives every process a realistic pid and GUID.
type writer struct {
	w      *bufio.Writer
	record uint64
	pids   int
}

func (wr *writer) nextPID() string {
	wr.pids++
	return fmt.Sprint(1000 + 4*((wr.pids*7919)%12000)) // distinct, spread like real pids
}

// processGUID is a Sysmon-style process GUID: machine part, time part, sequence.
func processGUID(a account, t time.Time, seq int) string {
	m := uint32(hash(a.Computer))
	return fmt.Sprintf("{%08x-%04x-%04x-%04x-%012x}", m, uint16(t.Unix()>>16), uint16(t.Unix()), 0x0500+seq%0x100, 0x1a00+uint64(seq))
}

// hashes are stand-in file hashes, the same for every copy of one program (by its
// original file name; a payload by its name).
func hashes(ofn, image string) string {
	id := strings.ToLower(ofn)
	if ofn == "-" {
		id = "payload|" + strings.ToLower(base(image))
	}
	return fmt.Sprintf("SHA1=%X,MD5=%X,SHA256=%X,IMPHASH=%X", sha1.Sum([]byte(id)), md5.Sum([]byte(id)),
		sha256.Sum256([]byte(id)), md5.Sum([]byte("imp|"+id)))
}

// writeCase writes the process creations of one case, the n-th, and returns their
// record ids. Each case runs in its own interactive cmd.exe.
func (wr *writer) writeCase(n int, c *Case) ([]uint64, error) {
	a := c.acct
	start := baseTime.Add(time.Duration(n) * 97 * time.Second)
	shellPID := wr.nextPID()
	shellGUID := processGUID(a, start.Add(-time.Minute), wr.pids)
	logonID := fmt.Sprintf("0x%x", 0x30000+hash(a.Computer, a.User)%0xfffff)
	user, integrity := a.Domain+`\`+a.User, integrityOf(c.Command.Privileges)
	if integrity == "System" {
		user, logonID = `NT AUTHORITY\SYSTEM`, "0x3e7"
	}
	type ids struct{ pid, guid string }
	made := make([]ids, len(c.procs))
	var records []uint64
	for i, p := range c.procs {
		t := start.Add(time.Duration(i) * 1300 * time.Millisecond)
		made[i] = ids{wr.nextPID(), processGUID(a, t, wr.pids)}
		parent := ids{shellPID, shellGUID}
		parentImage, parentCmd := `C:\Windows\System32\cmd.exe`, `"C:\Windows\system32\cmd.exe" `
		if p.Parent >= 0 {
			parent = made[p.Parent]
			parentImage, parentCmd = c.procs[p.Parent].Image, c.procs[p.Parent].CommandLine
		}
		wr.record++
		var ev winlogbeat
		ev.Timestamp = t.Add(350 * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
		w := &ev.Winlog
		w.Channel, w.ComputerName, w.EventID = "Microsoft-Windows-Sysmon/Operational", a.Computer, 1
		w.ProviderName, w.RecordID = "Microsoft-Windows-Sysmon", wr.record
		w.Process = map[string]any{"pid": 3112, "thread": map[string]int{"id": 4268}}
		w.User = map[string]string{"identifier": "S-1-5-18"}
		w.EventData = map[string]string{
			"RuleName":          "-",
			"UtcTime":           t.Format("2006-01-02 15:04:05.000"),
			"ProcessGuid":       made[i].guid,
			"ProcessId":         made[i].pid,
			"Image":             p.Image,
			"Company":           p.Company,
			"OriginalFileName":  p.OriginalFileName,
			"CommandLine":       p.CommandLine,
			"CurrentDirectory":  p.CurrentDirectory,
			"User":              user,
			"LogonGuid":         processGUID(a, baseTime.Add(-3*time.Hour), 0),
			"LogonId":           logonID,
			"TerminalSessionId": "1",
			"IntegrityLevel":    integrity,
			"Hashes":            hashes(p.OriginalFileName, p.Image),
			"ParentProcessGuid": parent.guid,
			"ParentProcessId":   parent.pid,
			"ParentImage":       parentImage,
			"ParentCommandLine": parentCmd,
			"ParentUser":        user,
		}
		b, err := json.Marshal(&ev)
		if err != nil {
			return nil, err
		}
		wr.w.Write(b)
		if err := wr.w.WriteByte('\n'); err != nil {
			return nil, err
		}
		records = append(records, wr.record)
	}
	return records, nil
}

// integrityOf is the integrity level a command runs at, from the catalog's
// Privileges: High for the administrator ones, System for SYSTEM, else Medium.
func integrityOf(privileges string) string {
	p := strings.ToLower(strings.TrimSpace(privileges))
	switch {
	case strings.HasPrefix(p, "system"):
		return "System"
	case strings.Contains(p, "admin") && !strings.HasPrefix(p, "user"):
		return "High"
	}
	return "Medium"
}

// writeEvidence writes the process creations of every case to path.
func writeEvidence(path string, cases []*Case) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	wr := &writer{w: bufio.NewWriter(f)}
	for i, c := range cases {
		recs, err := wr.writeCase(i, c)
		if err != nil {
			f.Close()
			return err
		}
		for j, r := range recs {
			c.Events[j].Record = r
		}
	}
	if err := wr.w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
