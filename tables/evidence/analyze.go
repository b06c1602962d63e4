package evidence

import (
	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/lineage/tree"
)

// Analyze decodes, tags and scores an event's command line or script text in place:
// process creations by their command line with the parent as context (parentScore is
// the parent's own score when lineage knows it, else 0), script-block parts by their
// own text, pipeline records by the host application's command line.
func Analyze(a *analysis.Analyzer, e *event.Event, parentScore int) {
	var res analysis.Result
	switch {
	case e.ProcessCreation != nil:
		p := e.ProcessCreation
		res = AnalyzeProcess(a, p, parentScore)
		p.EncodedCommand, p.DecodedCommand = res.EncodedCommand, res.DecodedCommand
	case e.ScriptBlockPart != nil:
		s := e.ScriptBlockPart
		res = a.AnalyzeScript(s.ScriptText, analysis.Script{Path: s.ScriptPath})
		s.Decoded = res.DecodedCommand
	case e.Pipeline != nil && e.Pipeline.HostApplication != "":
		res = a.AnalyzeCommandLine(e.Pipeline.HostApplication, analysis.Process{})
	default:
		return
	}
	e.Indicators, e.Score = res.Indicators, res.Score
}

// AnalyzeProcess analyses a process creation's command line with the context its event
// gives and its parent's score, through tree.Input: the one mapping from a process to
// analysis.Process, for `exechunt events`, the event tables and process_lineage.
func AnalyzeProcess(a *analysis.Analyzer, p *event.ProcessCreation, parentScore int) analysis.Result {
	proc := tree.FromProcessCreation(p)
	cl := p.Cmdline
	if p.ArgvQuoted != "" {
		cl = p.ArgvQuoted // the argv's boundaries, where the joined line lost them
	}
	return a.AnalyzeCommandLine(cl, tree.Input(&proc, nil, parentScore))
}
