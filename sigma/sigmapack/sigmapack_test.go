package sigmapack

import (
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"testing"

	"github.com/exechunt/exechunt/offline"
	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/packs"
	"github.com/exechunt/exechunt/sigma"
	"github.com/exechunt/exechunt/tables/analysis"
)

const ruleHead = `title: test rule
id: 00000000-1111-2222-3333-444444444444
status: test
level: high
tags: [attack.execution, attack.t1059.001]
logsource: {category: process_creation, product: windows}
detection:
`

// TestBuildLoads checks the packs Build makes load with packs.Parse as Write
// writes them, and that their queries compile in the offline engine.
func TestBuildLoads(t *testing.T) {
	res := &sigma.Result{}
	for _, d := range []string{
		"  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel",
		"  sel: {CommandLine|re: 'a.b'}\n  condition: sel",
	} {
		r, err := sigma.ParseRule(fmt.Sprintf("r%d.yml", len(res.Queries)), []byte(ruleHead+d))
		if err != nil {
			t.Fatal(err)
		}
		res.Add(r)
	}
	ps, err := Build(res)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := sqlengine.Open(offline.Tables(nil, analysis.New(), log), sqlengine.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, built := range ps {
		data, err := packs.Marshal(built)
		if err != nil {
			t.Fatal(err)
		}
		p, err := packs.Parse(built.File, data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p, built) {
			t.Errorf("%s: written and read back:\n%+v\nbuilt:\n%+v", built.Name, p, built)
		}
		if len(p.Queries) != 2 || p.Platform != "windows" {
			t.Errorf("%s: %d queries, platform %q", p.Name, len(p.Queries), p.Platform)
		}
		for _, q := range p.Queries {
			if err := e.Check(q.SQL); err != nil {
				t.Errorf("%s/%s: %v", p.Name, q.Name, err)
			}
		}
	}
}
