package webui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/client"
	"github.com/exechunt/exechunt/orchestrator/csvsafe"
	"github.com/exechunt/exechunt/orchestrator/targeting"
)

// TreeSQL is the live query behind the process tree: every process with its
// lineage, and the decoded command line of the suspicious ones.
const TreeSQL = "SELECT pid, parent, name, path, cmdline, username, start_time, parent_name, ancestry, ancestor_pids, " +
	"depth, lineage_status, process_guid, parent_process_guid, indicators, score, " +
	"CASE WHEN score >= 50 THEN (SELECT decoded_command FROM command_line_analysis WHERE cmdline = p.cmdline) END " +
	"AS decoded_command FROM process_lineage p"

// ScriptsSQL lists a host's reassembled PowerShell script blocks, riskiest first.
const ScriptsSQL = "SELECT script_block_id, time, datetime, computer, message_total, parts_seen, complete, script_path, " +
	"script_sha256, user_sid, pid, decoded, indicators, score, entropy, cosine_similarity, event_record_ids, script_text " +
	"FROM powershell_script_blocks%s ORDER BY score DESC, time DESC LIMIT 200"

type pageTemplate struct{ t *template.Template }

type treeNodeView struct {
	N *Node
	Q int64
}

var funcs = template.FuncMap{
	"tags": splitTags,
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"pct":        func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" },
	"join":       strings.Join,
	"treeNode":   func(n *Node, q int64) treeNodeView { return treeNodeView{N: n, Q: q} },
	"atoi":       func(s string) int { n, _ := strconv.Atoi(s); return n },
	"suspicious": func(s string) bool { n, _ := strconv.Atoi(s); return n >= SuspiciousScore },
	"sortedKeys": func(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) },
	"runTime":    runTime,
}

func parsePages() (map[string]*pageTemplate, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*pageTemplate{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" || base == "partials" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		out[base] = &pageTemplate{t: t}
	}
	return out, nil
}

// view is what every page template gets.
type view struct {
	Title   string
	Page    string
	User    string
	Role    string
	CSRF    string
	Hunter  bool
	Version string
	Data    any
}

func (u *UI) render(w http.ResponseWriter, r *http.Request, s *session, status int, page, title string, data any) {
	p := u.pages[page]
	v := view{Title: title, Page: page, Version: u.c.Version, Data: data}
	if s != nil {
		v.User, v.Role, v.CSRF, v.Hunter = s.name, s.role, s.csrf, apiv1.RoleAllows(s.role, apiv1.RoleHunter)
	}
	var buf bytes.Buffer
	if err := p.t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		u.c.Log.Error("rendering a page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apiv1.Errorf(http.StatusBadRequest, "bad id %q", r.PathValue("id"))
	}
	return id, nil
}

func queryID(r *http.Request) (int64, error) {
	s := r.URL.Query().Get("query")
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, apiv1.Errorf(http.StatusBadRequest, "bad query id %q", s)
	}
	return id, nil
}

// --- overview and hosts ---

type hostView struct {
	apiv1.Host
	Online bool
	Seen   string
}

type platformCount struct {
	Platform               string
	Online, Offline, Total int
}

func (u *UI) listHosts(r *http.Request, s *session) ([]hostView, error) {
	api, ctx := u.api(r, s.token)
	hosts, err := api.Hosts(ctx, client.HostFilter{})
	if err != nil {
		return nil, err
	}
	now := u.c.Now()
	out := make([]hostView, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, hostView{Host: h, Online: now.Sub(h.LastSeen) <= u.c.OnlineWithin, Seen: ago(now, h.LastSeen)})
	}
	return out, nil
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}

type bar struct {
	Label string
	Value int
	Max   int
}

func bars(m map[string]int) []bar {
	out := make([]bar, 0, len(m))
	mx := 0
	for k, v := range m {
		out = append(out, bar{Label: k, Value: v})
		mx = max(mx, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Value != out[j].Value {
			return out[i].Value > out[j].Value
		}
		return out[i].Label < out[j].Label
	})
	for i := range out {
		out[i].Max = mx
	}
	return out
}

func (u *UI) overview(w http.ResponseWriter, r *http.Request, s *session) error {
	hosts, err := u.listHosts(r, s)
	if err != nil {
		return err
	}
	byPlat := map[string]*platformCount{}
	var total platformCount
	total.Platform = "all"
	for _, h := range hosts {
		p := h.Platform
		if p == "" {
			p = "unknown"
		}
		c := byPlat[p]
		if c == nil {
			c = &platformCount{Platform: p}
			byPlat[p] = c
		}
		for _, c := range []*platformCount{c, &total} {
			c.Total++
			if h.Online {
				c.Online++
			} else {
				c.Offline++
			}
		}
	}
	var plats []platformCount
	for _, c := range byPlat {
		plats = append(plats, *c)
	}
	sort.Slice(plats, func(i, j int) bool { return plats[i].Platform < plats[j].Platform })
	api, ctx := u.api(r, s.token)
	qs, err := api.Queries(ctx, 10)
	if err != nil {
		return err
	}
	data := map[string]any{"Platforms": plats, "Total": total, "Queries": qs}
	switch hs, err := api.Hunts(ctx, 3); {
	case err == nil:
		data["HuntsAvailable"], data["Hunts"] = true, hs
	case !notServed(err):
		return err
	}
	switch as, err := api.Anomalies(ctx, anomalyFilter(apiv1.TriageOpen, "", "", "", 10000)); {
	case err == nil:
		sev, tech := map[string]int{}, map[string]int{}
		for _, a := range as {
			sev[orDash(a.Severity)]++
			tech[orDash(a.Technique)]++
		}
		data["AnomaliesAvailable"] = true
		data["OpenAnomalies"] = len(as)
		data["BySeverity"] = bars(sev)
		data["ByTechnique"] = bars(tech)
		if len(as) > 5 {
			as = as[:5]
		}
		data["TopAnomalies"] = as
	case !notServed(err):
		return err
	}
	switch fs, err := api.Forwarding(ctx); {
	case err == nil:
		var rows []forwardView
		for _, f := range fs {
			v := forwardView{ForwardingStatus: f, Oldest: "—"}
			if f.OldestQueued != nil {
				v.Oldest = ago(u.c.Now(), *f.OldestQueued)
			}
			rows = append(rows, v)
		}
		data["Forwarding"] = rows
	case !notServed(err):
		return err
	}
	u.render(w, r, s, http.StatusOK, "overview", "Overview", data)
	return nil
}

// forwardView is a forwarding destination's queue on the overview.
type forwardView struct {
	apiv1.ForwardingStatus
	Oldest string // the oldest queued item's age, "—" when none is queued
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (u *UI) hosts(w http.ResponseWriter, r *http.Request, s *session) error {
	hosts, err := u.listHosts(r, s)
	if err != nil {
		return err
	}
	plat := r.URL.Query().Get("platform")
	platforms := platformsOf(hosts)
	if plat != "" {
		hosts = slices.DeleteFunc(hosts, func(h hostView) bool { return h.Platform != plat })
	}
	u.render(w, r, s, http.StatusOK, "hosts", "Hosts", map[string]any{"Hosts": hosts, "Platforms": platforms, "Platform": plat})
	return nil
}

// platformsOf lists the hosts' platforms, sorted, for the platform filters.
func platformsOf(hosts []hostView) []string {
	var out []string
	for _, h := range hosts {
		if h.Platform != "" && !slices.Contains(out, h.Platform) {
			out = append(out, h.Platform)
		}
	}
	sort.Strings(out)
	return out
}

// --- live query console ---

func (u *UI) console(w http.ResponseWriter, r *http.Request, s *session) error {
	hosts, err := u.listHosts(r, s)
	if err != nil {
		return err
	}
	platforms := platformsOf(hosts)
	q := r.URL.Query()
	sql := q.Get("sql")
	var follow *apiv1.Query
	if id, err := queryID(r); err != nil {
		return err
	} else if id > 0 {
		api, ctx := u.api(r, s.token)
		d, err := api.Query(ctx, id)
		if err != nil {
			return err
		}
		follow = &d.Query
		if sql == "" {
			sql = d.Query.SQL
		}
	}
	if sql == "" {
		sql = "SELECT name, parent_name, cmdline, indicators, score\nFROM process_lineage\nWHERE score >= 50;"
	}
	selected, _ := strconv.ParseInt(q.Get("host"), 10, 64)
	u.render(w, r, s, http.StatusOK, "console", "Live query", map[string]any{
		"Hosts": hosts, "Platforms": platforms, "SQL": sql, "Selected": selected, "Follow": follow})
	return nil
}

func (u *UI) export(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	api, ctx := u.api(r, s.token)
	rows, err := api.QueryRows(ctx, id)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	name := fmt.Sprintf("exechunt-query-%d.%s", id, format)
	switch format {
	case "json":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case "csv":
		cols := map[string]bool{}
		for _, rw := range rows {
			for k := range rw.Columns {
				cols[k] = true
			}
		}
		names := slices.Sorted(maps.Keys(cols))
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		cw := csvsafe.NewWriter(w)
		cw.Write(append([]string{"host_id", "hostname"}, names...))
		for _, rw := range rows {
			rec := []string{strconv.FormatInt(rw.HostID, 10), rw.Hostname}
			for _, k := range names {
				rec = append(rec, rw.Columns[k])
			}
			cw.Write(rec)
		}
		cw.Flush()
		return cw.Error()
	}
	return apiv1.Errorf(http.StatusBadRequest, "format must be csv or json")
}

// --- live results for one host: process tree and scripts ---

type hostRun struct {
	Host    apiv1.Host
	Query   *apiv1.Query
	State   *apiv1.HostState
	Waiting bool
	Rows    []map[string]string
}

// hostRun reads the host and, with ?query=N, that query's state and rows on it.
func (u *UI) hostRun(r *http.Request, s *session) (hostRun, error) {
	var hr hostRun
	id, err := pathID(r)
	if err != nil {
		return hr, err
	}
	api, ctx := u.api(r, s.token)
	if hr.Host, err = api.Host(ctx, id); err != nil {
		return hr, err
	}
	qid, err := queryID(r)
	if err != nil || qid == 0 {
		return hr, err
	}
	d, err := api.Query(ctx, qid)
	if err != nil {
		return hr, err
	}
	hr.Query = &d.Query
	for i := range d.Hosts {
		if d.Hosts[i].HostID == id {
			hr.State = &d.Hosts[i]
		}
	}
	if hr.State == nil {
		return hr, apiv1.Errorf(http.StatusNotFound, "query %d did not target this host", qid)
	}
	if !hr.State.Final {
		hr.Waiting = true
		return hr, nil
	}
	if hr.State.Rows > 0 {
		rows, err := api.QueryRows(ctx, qid)
		if err != nil {
			return hr, err
		}
		for _, rw := range rows {
			if rw.HostID == id {
				hr.Rows = append(hr.Rows, rw.Columns)
			}
		}
	}
	return hr, nil
}

func (u *UI) startHostQuery(w http.ResponseWriter, r *http.Request, s *session, sql, page string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	api, ctx := u.api(r, s.token)
	q, err := api.CreateQuery(ctx, apiv1.CreateQueryRequest{SQL: sql, Targets: targeting.Targets{HostIDs: []int64{id}}, Timeout: "2m"})
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/ui/hosts/%d/%s?query=%d", id, page, q.ID), http.StatusSeeOther)
	return nil
}

func (u *UI) startTree(w http.ResponseWriter, r *http.Request, s *session) error {
	return u.startHostQuery(w, r, s, TreeSQL, "tree")
}

func (u *UI) treePage(w http.ResponseWriter, r *http.Request, s *session) error {
	hr, err := u.hostRun(r, s)
	if err != nil {
		return err
	}
	data := map[string]any{"Run": hr}
	if hr.Query != nil && !hr.Waiting {
		limit := 500
		if r.URL.Query().Get("all") != "" {
			limit = 5000
		}
		data["Tree"] = BuildTree(hr.Rows, r.URL.Query().Get("focus"), limit)
		data["Focus"] = r.URL.Query().Get("focus")
	}
	u.render(w, r, s, http.StatusOK, "tree", "Process tree: "+hr.Host.Hostname, data)
	return nil
}

func (u *UI) startScripts(w http.ResponseWriter, r *http.Request, s *session) error {
	where := ""
	if v := r.PostFormValue("min_score"); v != "" && v != "0" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			return apiv1.Errorf(http.StatusBadRequest, "min score must be 0–100")
		}
		where = fmt.Sprintf(" WHERE score >= %d", n)
	}
	return u.startHostQuery(w, r, s, fmt.Sprintf(ScriptsSQL, where), "scripts")
}

func (u *UI) scriptsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	hr, err := u.hostRun(r, s)
	if err != nil {
		return err
	}
	u.render(w, r, s, http.StatusOK, "scripts", "Scripts: "+hr.Host.Hostname, map[string]any{"Run": hr})
	return nil
}

// Layer is one stage of a script or command line, as logged then decoded.
type Layer struct {
	Title string
	Text  string
}

func (u *UI) scriptView(w http.ResponseWriter, r *http.Request, s *session) error {
	hr, err := u.hostRun(r, s)
	if err != nil {
		return err
	}
	if hr.Query == nil {
		return apiv1.Errorf(http.StatusBadRequest, "no query given")
	}
	block := r.URL.Query().Get("block")
	var row map[string]string
	for _, rw := range hr.Rows {
		if rw["script_block_id"] == block {
			row = rw
			break
		}
	}
	if row == nil {
		return apiv1.Errorf(http.StatusNotFound, "script block %q is not in the results of query %d", block, hr.Query.ID)
	}
	layers := []Layer{{Title: fmt.Sprintf("Script text as logged (%s of %s parts, reassembled)", row["parts_seen"], row["message_total"]), Text: row["script_text"]}}
	if d := row["decoded"]; d != "" && d != row["script_text"] {
		layers = append(layers, Layer{Title: "Decoded (the innermost layer the analysis reached)", Text: d})
	}
	u.render(w, r, s, http.StatusOK, "script", "Script block "+block, map[string]any{"Run": hr, "Row": row, "Layers": layers})
	return nil
}

// --- anomalies ---

func (u *UI) anomalies(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	state := q.Get("state")
	if _, ok := q["state"]; !ok {
		state = apiv1.TriageOpen
	}
	api, ctx := u.api(r, s.token)
	all, err := api.Anomalies(ctx, anomalyFilter("", "", "", "", 10000))
	if notServed(err) {
		u.render(w, r, s, http.StatusOK, "unavailable", "Anomalies", map[string]any{"What": "Anomalies"})
		return nil
	}
	if err != nil {
		return err
	}
	var techs, hunts []string
	for _, a := range all {
		if a.Technique != "" && !slices.Contains(techs, a.Technique) {
			techs = append(techs, a.Technique)
		}
		for _, h := range a.Hunts {
			if !slices.Contains(hunts, h) {
				hunts = append(hunts, h)
			}
		}
	}
	sort.Strings(techs)
	sort.Strings(hunts)
	filter := map[string]string{"State": state, "Technique": q.Get("technique"), "Hunt": q.Get("hunt"), "Host": q.Get("host")}
	list, err := api.Anomalies(ctx, anomalyFilter(state, filter["Technique"], filter["Hunt"], filter["Host"], 500))
	if err != nil {
		return err
	}
	u.render(w, r, s, http.StatusOK, "anomalies", "Anomalies", map[string]any{"List": list, "Filter": filter,
		"States": apiv1.TriageStates, "Techniques": techs, "Hunts": hunts})
	return nil
}

func (u *UI) anomaly(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := apiv1.PathAnomalyID(r)
	if err != nil {
		return err
	}
	api, ctx := u.api(r, s.token)
	a, err := api.Anomaly(ctx, id)
	if notServed(err) {
		u.render(w, r, s, http.StatusOK, "unavailable", "Anomalies", map[string]any{"What": "Anomalies"})
		return nil
	}
	if err != nil {
		return err
	}
	evidence := make([]Evidence, len(a.Examples))
	for i, ex := range a.Examples {
		evidence[i] = evidenceOf(ex)
	}
	u.render(w, r, s, http.StatusOK, "anomaly", "Anomaly "+a.ID, map[string]any{"A": a, "Evidence": evidence})
	return nil
}

// Evidence is one example row of an anomaly as its page shows it: the command
// line whole, the text the agent's analysis decoded from it (process rows'
// decoded_command, script blocks' decoded), then the other columns.
type Evidence struct {
	Host          string
	Time          time.Time
	Score         string
	Cmdline       string
	DecodedLabel  string
	Decoded       string
	Indicators    string
	ParentCmdline string
	Other         [][2]string // column, value; sorted by column
}

func evidenceOf(ex apiv1.Example) Evidence {
	e := Evidence{Host: ex.Host, Time: ex.Time, Score: ex.Row["score"], Cmdline: ex.Row["cmdline"],
		Indicators: ex.Row["indicators"], ParentCmdline: ex.Row["parent_cmdline"]}
	shown := map[string]bool{"score": true, "cmdline": true, "indicators": true, "parent_cmdline": true}
	if d := ex.Row["decoded_command"]; d != "" && d != e.Cmdline {
		e.DecodedLabel, e.Decoded = "Decoded command", d
	} else if d := ex.Row["decoded"]; d != "" && d != ex.Row["script_text"] {
		e.DecodedLabel, e.Decoded = "Decoded script", d
	}
	shown["decoded_command"], shown["decoded"] = true, true
	for _, k := range slices.Sorted(maps.Keys(ex.Row)) {
		if !shown[k] && ex.Row[k] != "" {
			e.Other = append(e.Other, [2]string{k, ex.Row[k]})
		}
	}
	return e
}

// triage changes an anomaly's state through the API, which checks the session's
// role and token and writes the audit entry with its actor.
func (u *UI) triage(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := apiv1.PathAnomalyID(r)
	if err != nil {
		return err
	}
	action := r.PostFormValue("action")
	state, ok := triageStates[action]
	if !ok {
		return apiv1.Errorf(http.StatusBadRequest, "unknown action %q", action)
	}
	api, ctx := u.api(r, s.token)
	a, err := api.Triage(ctx, id, state, strings.TrimSpace(r.PostFormValue("reason")))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/anomalies/"+url.PathEscape(a.ID), http.StatusSeeOther)
	return nil
}

// --- hunts ---

func (u *UI) hunts(w http.ResponseWriter, r *http.Request, s *session) error {
	api, ctx := u.api(r, s.token)
	hs, err := api.Hunts(ctx, 3)
	if notServed(err) {
		u.render(w, r, s, http.StatusOK, "unavailable", "Hunts", map[string]any{"What": "Hunts"})
		return nil
	}
	if err != nil {
		return err
	}
	runs, err := api.HuntRuns(ctx, "", 20)
	if err != nil {
		return err
	}
	u.render(w, r, s, http.StatusOK, "hunts", "Hunts", map[string]any{"Hunts": hs, "Runs": runs})
	return nil
}

func (u *UI) hunt(w http.ResponseWriter, r *http.Request, s *session) error {
	api, ctx := u.api(r, s.token)
	h, err := api.Hunt(ctx, r.PathValue("name"), 3)
	if notServed(err) {
		u.render(w, r, s, http.StatusOK, "unavailable", "Hunts", map[string]any{"What": "Hunts"})
		return nil
	}
	if err != nil {
		return err
	}
	runs, err := api.HuntRuns(ctx, h.Name, 50)
	if err != nil {
		return err
	}
	u.render(w, r, s, http.StatusOK, "hunt", "Hunt "+h.Name, map[string]any{"H": h, "Runs": runs})
	return nil
}

// runHunt starts a run through the API, which checks the session's role and
// token and writes the audit entry with its actor.
func (u *UI) runHunt(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PathValue("name")
	api, ctx := u.api(r, s.token)
	if _, err := api.RunHunt(ctx, name); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/hunts/"+url.PathEscape(name), http.StatusSeeOther)
	return nil
}
