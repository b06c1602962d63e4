package simulate

import (
	"context"
	"regexp"
	"strconv"
	"time"

	"github.com/exechunt/exechunt/offline/simulate/agentsim"
)

// windowRE matches a query bounded to the events of a time window, as hunts wrap
// the queries they dispatch (packs/README.md): SELECT * FROM (\n<query>\n) WHERE
// time > <from> AND time <= <to>; with Unix seconds.
var windowRE = regexp.MustCompile(`(?s)^SELECT \* FROM \(\n(.*)\n\) WHERE time > (-?\d+) AND time <= (-?\d+);$`)

// Replayed answers r's queries as a host on which the evidence happens at the
// moment at: a query bounded to a time window is answered with the rows of its
// inner query when the window holds at, and with none otherwise (the inner query
// still runs, so a bad query fails as it would). Evidence is dated in the past, so
// without this a hunt asking for the last hour would find nothing on a simulated
// host; with it each host's rows come back in exactly one of its hunt's runs,
// as new events do on a real host. Queries without a window run as they are.
func Replayed(r agentsim.Runner, at time.Time) agentsim.Runner {
	return replayed{r, at.Unix()}
}

type replayed struct {
	r  agentsim.Runner
	at int64
}

// Run implements agentsim.Runner.
func (p replayed) Run(ctx context.Context, sql string) ([]map[string]string, error) {
	m := windowRE.FindStringSubmatch(sql)
	if m == nil {
		return p.r.Run(ctx, sql)
	}
	from, err1 := strconv.ParseInt(m[2], 10, 64)
	to, err2 := strconv.ParseInt(m[3], 10, 64)
	if err1 != nil || err2 != nil {
		return p.r.Run(ctx, sql)
	}
	rows, err := p.r.Run(ctx, m[1])
	if err != nil || from < p.at && p.at <= to {
		return rows, err
	}
	return nil, nil
}
