package eventtables

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/evidenceref"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// ScriptBlockTable is powershell_script_blocks: one row per script block, its 4104
// parts joined in MessageNumber order; partial blocks are returned with complete = 0.
func (s *Store) ScriptBlockTable() tablekit.Table {
	return tablekit.Table{
		Name:        "powershell_script_blocks",
		Description: "PowerShell 4104 script blocks reassembled in MessageNumber order, decoded, tagged and scored.",
		Columns: []table.ColumnDefinition{
			table.BigIntColumn("time", table.IndexColumn(), table.ColumnDescription("time of the block's first part, Unix seconds")),
			table.TextColumn("datetime", table.IndexColumn()),
			table.TextColumn("computer"),
			table.TextColumn("script_block_id", table.IndexColumn()),
			table.IntegerColumn("message_total"),
			table.IntegerColumn("parts_seen"),
			table.IntegerColumn("complete", table.ColumnDescription("1 when all parts 1..message_total were seen")),
			table.TextColumn("script_path"),
			table.TextColumn("script_text"),
			table.TextColumn("script_sha256"),
			table.TextColumn("user_sid"),
			table.BigIntColumn("pid", table.ColumnDescription("PowerShell host process")),
			table.TextColumn("decoded"),
			table.TextColumn("indicators"),
			table.IntegerColumn("score"),
			table.DoubleColumn("entropy"),
			table.DoubleColumn("cosine_similarity"),
			table.TextColumn("event_record_ids", table.ColumnDescription("comma-separated, in MessageNumber order")),
			table.TextColumn("evidence", table.ColumnDescription("JSON list of the parts' file, locator and event_record_id")),
		},
		Generate: s.generateScripts,
	}
}

func (s *Store) generateScripts(ctx context.Context, qc table.QueryContext) ([]map[string]string, error) {
	since, until := tablekit.TimeWindow(qc, "time")
	since, until = tablekit.DatetimeWindow(qc, "datetime", since, until)
	var ids map[string]bool
	if v, ok := tablekit.Equals(qc, "script_block_id"); ok {
		ids = map[string]bool{}
		for _, id := range v {
			ids[event.GUID(id)] = true
		}
	}
	match := func(b *block) bool {
		return (since.IsZero() || !b.first.Before(since)) && (until.IsZero() || !b.first.After(until)) && (ids == nil || ids[b.id])
	}
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	var blocks []*block
	if s.scripts.covers(since) {
		for _, b := range s.scripts.blocks {
			if match(b) {
				blocks = append(blocks, b)
			}
		}
	} else {
		// Reassemble the window from the sources; a block is in the window when its
		// first part is, so parts are read from the start of the window on.
		tmp := map[string]*block{}
		err := s.reread(ctx, since, time.Time{}, event.KindScriptBlockPart, func(e *event.Event) {
			id := e.ScriptBlockPart.ScriptBlockID
			b := tmp[id]
			if b == nil {
				b = newBlock(e)
				tmp[id] = b
			}
			b.add(e)
		})
		if err != nil {
			return nil, err
		}
		s.mergeKnownParts(tmp)
		for _, b := range tmp {
			if match(b) {
				blocks = append(blocks, b)
			}
		}
	}
	sort.Slice(blocks, func(i, j int) bool {
		if !blocks[i].first.Equal(blocks[j].first) {
			return blocks[i].first.Before(blocks[j].first)
		}
		return blocks[i].id < blocks[j].id
	})
	rows := make([]map[string]string, 0, len(blocks))
	for _, b := range blocks {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		rows = append(rows, s.scriptRow(b))
	}
	return rows, nil
}

// mergeKnownParts adds to blocks re-read from the sources the parts the index holds
// that the sources no longer do (rotated out, or kept across a restart), and the
// indexed blocks the sources lost entirely. Callers hold the lock.
func (s *Store) mergeKnownParts(tmp map[string]*block) {
	for id, ib := range s.scripts.blocks {
		tb := tmp[id]
		if tb == nil {
			tmp[id] = ib
			continue
		}
		for n, p := range ib.parts {
			if _, ok := tb.parts[n]; !ok {
				tb.parts[n] = p
				tb.cost += partCost(p)
				tb.total = max(tb.total, ib.total)
				if p.time.Before(tb.first) {
					tb.first = p.time
				}
			}
		}
	}
}

func (s *Store) scriptRow(b *block) map[string]string {
	text := b.text()
	sum := sha256.Sum256([]byte(text))
	res := s.analyseScript(text, b.path)
	parts := b.ordered()
	ids := make([]string, len(parts))
	evs := make([]evidenceref.Part, len(parts))
	for i, p := range parts {
		ids[i] = strconv.FormatUint(p.recordID, 10)
		evs[i] = evidenceref.Part{MessageNumber: p.number, File: p.file, Locator: p.locator, EventRecordID: p.recordID}
	}
	complete := "0"
	if b.complete() {
		complete = "1"
	}
	return map[string]string{
		"time":              strconv.FormatInt(b.first.Unix(), 10),
		"datetime":          b.first.UTC().Format(time.RFC3339Nano),
		"computer":          b.computer,
		"script_block_id":   b.id,
		"message_total":     strconv.Itoa(b.total),
		"parts_seen":        strconv.Itoa(len(b.parts)),
		"complete":          complete,
		"script_path":       b.path,
		"script_text":       text,
		"script_sha256":     hex.EncodeToString(sum[:]),
		"user_sid":          b.userSID,
		"pid":               strconv.FormatInt(b.pid, 10),
		"decoded":           res.DecodedCommand,
		"indicators":        strings.Join(res.Indicators, ","),
		"score":             strconv.Itoa(res.Score),
		"entropy":           strconv.FormatFloat(res.Entropy, 'f', 4, 64),
		"cosine_similarity": strconv.FormatFloat(res.CosineSimilarity, 'f', 4, 64),
		"event_record_ids":  strings.Join(ids, ","),
		"evidence":          evidenceref.EncodeList(evs),
	}
}

// analyseScript returns the (cached) analysis of a reassembled script. Callers hold
// the lock.
func (s *Store) analyseScript(text, path string) analysis.Result {
	k := sha256.Sum256([]byte(path + "\x00" + text))
	if r, ok := s.scriptResults.Get(k); ok {
		return r
	}
	r := s.opt.Analyzer.AnalyzeScript(text, analysis.Script{Path: path})
	s.scriptResults.Add(k, r)
	return r
}
