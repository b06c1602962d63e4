package evidence

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
)

// shortProvider names providers as MANIFEST.md does.
var shortProvider = map[string]string{
	"Microsoft-Windows-Sysmon":            "Sysmon",
	"Linux-Sysmon":                        "Linux-Sysmon",
	"Microsoft-Windows-Security-Auditing": "Security-Auditing",
	"Microsoft-Windows-PowerShell":        "PowerShell",
}

var checkedKeys = []string{"Sysmon/1", "Linux-Sysmon/1", "Security-Auditing/4688", "PowerShell/4104"}

// TestCorpusCountsMatchManifest reads every EVTX and JSON file the corpus manifest
// lists and compares the process-creation and script-block counts per file.
func TestCorpusCountsMatchManifest(t *testing.T) {
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	want, err := corpus.Manifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 150 {
		t.Fatalf("manifest lists only %d evidence files; the parser of MANIFEST.md is broken", len(want))
	}
	totals := map[string]int{}
	for _, exp := range want {
		path := filepath.Join(dir, exp.File)
		got := map[string]int{}
		var problems []string
		opt := &source.Options{
			Want:    func(p, c string, id uint32) bool { return event.Classify(p, c, id) != event.KindOther },
			Problem: func(p *source.Problem) { problems = append(problems, p.Error()) },
		}
		st, err := ReadFile(context.Background(), path, opt, func(r *event.Record) error {
			got[fmt.Sprintf("%s/%d", shortProvider[r.Provider], r.EventID)]++
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", exp.File, err)
			continue
		}
		if st.DamagedChunks != 0 || st.BadLines != 0 {
			t.Errorf("%s: %d damaged chunks, %d bad lines: %s", exp.File, st.DamagedChunks, st.BadLines, strings.Join(problems, "; "))
		}
		for _, k := range checkedKeys {
			totals[k] += got[k]
			n, listed := exp.Counts[k]
			switch {
			case listed || exp.Exact:
				if got[k] != n {
					t.Errorf("%s: %s = %d, manifest says %d", exp.File, k, got[k], n)
				}
			case got[k] > exp.Other:
				t.Errorf("%s: %s = %d, more than the manifest's other=%d", exp.File, k, got[k], exp.Other)
			}
		}
	}
	t.Logf("%d files checked; totals %v", len(want), totals)
}

// TestCorpusLinuxAudit reads the two public audit.log recordings of the corpus
// (MANIFEST.md, "Linux audit"), recognised by content, into their process creations.
func TestCorpusLinuxAudit(t *testing.T) {
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	base := filepath.Join(dir, "OTRF_Security-Datasets/datasets/atomic/linux")
	for _, tc := range []struct {
		file string
		want []string // pid user cwd :: cmdline
	}{
		{"defense_evasion/host/sh_binary_padding_dd_2020-11-10081941.log", []string{"2168 1000 /home/wardog /bin/dd <- 29002 :: dd if=/dev/zero bs=1 count=1"}},
		{"discovery/host/sh_arp_cache_2020-11-10074812.log", []string{
			"1631 1000 /home/wardog /usr/sbin/arp <- 29002 :: arp -a",
			"1632 1000 /home/wardog /bin/grep <- 29002 :: grep -v ^?",
		}},
	} {
		path := filepath.Join(base, tc.file)
		var got []string
		var problems []string
		opt := &source.Options{Problem: func(p *source.Problem) { problems = append(problems, p.Error()) }}
		st, err := ReadFile(context.Background(), path, opt, func(r *event.Record) error {
			e := event.Normalize(r, false)
			p := e.ProcessCreation
			if r.Format != "audit" || p == nil || p.TTY != "pts0" || p.LoginUser != "1000" || p.TerminalSessionID != "104" || p.Failed {
				t.Errorf("%s: %+v %+v", tc.file, e, p)
				return nil
			}
			got = append(got, fmt.Sprintf("%d %s %s %s <- %d :: %s", p.PID, p.User, p.CurrentDirectory, p.Image, p.ParentPID, p.Cmdline))
			return nil
		})
		if err != nil || len(problems) > 0 || st.BadLines != 0 {
			t.Errorf("%s: %v %q", tc.file, err, problems)
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tc.file, got, tc.want)
		}
	}
}
