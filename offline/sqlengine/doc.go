// Package sqlengine is exechunt's offline SQL engine: an embedded, pure-Go SQLite
// (github.com/ncruces/go-sqlite3, no cgo) in which any []tablekit.Table is mounted as
// an eponymous virtual table, so that `SELECT … FROM process_creation_events` works
// with no CREATE, exactly as under osqueryd.
//
// The engine plans like osquery's virtual_table.cpp: every usable constraint of
// SQLite's xBestIndex whose operator osquery knows (=, >, <=, <, >=, MATCH, LIKE,
// GLOB, REGEXP) is passed to the table's Generate in a table.QueryContext with
// osquery's operator codes, and SQLite re-checks every row, so constraints are only
// hints. An IN list is passed all at once (one EQ constraint per value, as osquery
// sends it). A table whose required column has no usable = or IN constraint is given
// a prohibitive cost, so in a JOIN SQLite puts it on the inner side and calls Generate
// once per outer row with the value pinned; queried alone it returns no rows. Index
// columns pinned by = make a plan cheaper. Generate runs under tablekit.Guard with the
// query's context, and its string rows are converted to the declared column types
// (BIGINT/INTEGER → int64, DOUBLE → float64; a missing key or a number that does not
// parse is NULL, an empty TEXT value stays ”).
//
// osquery's SQL extras that packs use are registered on every engine (see Functions).
package sqlengine
