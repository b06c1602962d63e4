package analysis

import (
	"fmt"

	"github.com/exechunt/exechunt/tables/analysis/psdecode"
)

// Process is the context of a command line; every field is optional.
type Process struct {
	Image, ParentImage, ParentCmdline, User, CurrentDirectory string
	// OriginalFileName, Description, Product and Company come from the image's PE
	// version resource (Sysmon logs them); they say what a renamed binary is.
	OriginalFileName, Description, Product, Company string
	// ParentOriginalFileName is the parent's PE original name, when known.
	ParentOriginalFileName string
	// ParentScore is the parent process's own score when the caller knows it (the
	// event tables resolve the parent through lineage). A parent at or above
	// SuspiciousScore makes this process part of a suspicious execution chain.
	ParentScore int
}

// SuspiciousScore is the score from which a process counts as suspicious, for
// ParentScore and for the tables' documented hunting threshold.
const SuspiciousScore = 50

// Script is the context of a 4104 script block; Path is optional.
type Script struct {
	Path string
}

// Layer is one decoding step, e.g. {"base64_utf16le", "..."} or {"gzip", "..."}.
type Layer struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// Result is the analysis of one command line or script.
type Result struct {
	Program          string   `json:"program"`         // lower-case base name, e.g. "powershell.exe", "bash"
	Family           string   `json:"family"`          // powershell, cmd, script_host, lolbin, posix_shell, other
	Args             []string `json:"args"`            // parsed argv
	Flags            []string `json:"flags"`           // normalised flags, e.g. "-encodedcommand", "-windowstyle hidden"
	EncodedCommand   string   `json:"encoded_command"` // the -EncodedCommand value as given
	DecodedCommand   string   `json:"decoded_command"` // the most decoded text; "" when nothing decoded
	Layers           []Layer  `json:"layers"`
	URLs             []string `json:"urls"`
	IPs              []string `json:"ips"`
	Indicators       []string `json:"indicators"` // sorted, unique tag names
	Score            int      `json:"score"`      // 0..100
	Entropy          float64  `json:"entropy"`    // Shannon entropy (bits/char) of the script or decoded text
	CosineSimilarity float64  `json:"cosine_similarity"`
}

// Limits bound decoding work; see psdecode.Limits.
type Limits = psdecode.Limits

// Analyzer holds analysis settings. The zero value is not ready; use New. An
// Analyzer is immutable and safe for concurrent use.
type Analyzer struct {
	vector []float64
	limits Limits
}

// Option configures an Analyzer.
type Option func(*Analyzer)

// WithVector sets the reference character-frequency vector for
// CosineSimilarity (osquery's feature_vectors.character_frequencies: VectorLen
// weights indexed by byte value). The default is DefaultVector().
func WithVector(v []float64) Option {
	return func(a *Analyzer) { a.vector = append([]float64(nil), v...) }
}

// WithLimits sets the decoding limits (zero fields keep their defaults).
func WithLimits(l Limits) Option {
	return func(a *Analyzer) { a.limits = l }
}

// New returns an Analyzer with the default vector and limits, then opts applied.
func New(opts ...Option) *Analyzer {
	a := &Analyzer{vector: DefaultVector(), limits: psdecode.DefaultLimits()}
	for _, o := range opts {
		o(a)
	}
	return a
}

// defaultAnalyzer backs the package-level functions; it is never modified.
var defaultAnalyzer = New()

// AnalyzeCommandLine analyses a process command line with the default settings.
func AnalyzeCommandLine(cmdline string, p Process) Result {
	return defaultAnalyzer.AnalyzeCommandLine(cmdline, p)
}

// AnalyzeScript analyses a PowerShell script block with the default settings.
func AnalyzeScript(text string, s Script) Result {
	return defaultAnalyzer.AnalyzeScript(text, s)
}

// AnalyzeCommandLine parses, decodes, tags and scores a process command line.
// It never panics; an internal error yields the analysis_error tag.
func (a *Analyzer) AnalyzeCommandLine(cmdline string, p Process) (res Result) {
	defer recoverInto(&res)
	st := newState(a)
	st.commandLine(cmdline, p, 0)
	return st.finish()
}

// AnalyzeScript decodes, tags and scores a PowerShell script (a reassembled
// 4104 script block). It never panics; an internal error yields the
// analysis_error tag.
func (a *Analyzer) AnalyzeScript(text string, s Script) (res Result) {
	defer recoverInto(&res)
	st := newState(a)
	st.script(text, s)
	return st.finish()
}

// recoverInto turns a panic into a Result carrying only analysis_error.
func recoverInto(res *Result) {
	if r := recover(); r != nil {
		*res = Result{Family: FamilyOther, Indicators: []string{tagAnalysisError}}
		_ = fmt.Sprint(r) // the value is not reported: it may hold attacker text
	}
}
