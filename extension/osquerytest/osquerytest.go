// Package osquerytest plays osqueryd's side of the extension protocol for tests:
// the real Thrift binary protocol over a unix socket, served by osquery-go's
// generated ExtensionManager processor, as osquery core's extension manager does.
//
// An extension under test dials Socket() (osqueryd's --extensions_socket, passed to
// the extension as --socket), calls registerExtension and then serves its plugins on
// "<Socket()>.<uuid>". The harness records every registration, answers ping,
// extensions and options, and calls the extension back exactly as osquery core does
// when a query touches one of its tables:
//
//	call("table", name, {"action": "columns"})
//	call("table", name, {"action": "generate", "context": "<query context JSON>"})
//
// The query context is built like osquery's TablePlugin::setRequestFromContext:
// one entry per column of the table (in column-name order) with its affinity and its
// list of {op, expr} constraints (empty when the query does not constrain it), plus
// colsUsed and colsUsedBitset.
//
// Closing the harness closes the manager socket and every connection, as osqueryd
// exiting does: a running extension then fails its next ping and must exit.
//
// The package does not import testing; every problem is returned as an error.
package osquerytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/osquery/osquery-go/gen/osquery"
)

// MaxSocketPath is the longest manager socket path the harness accepts: osquery-go
// refuses longer ones because "<path>.<uuid>" must fit in a sockaddr_un.
const MaxSocketPath = 97

// Column option bits of osquery's ColumnOptions (osquery/core/sql/column.h), as
// sent in the "op" field of a column route.
const (
	OpIndex      = 1
	OpRequired   = 2
	OpAdditional = 4
	OpOptimized  = 8
	OpHidden     = 16
)

// Operator is an osquery constraint operator (osquery/core/tables.h).
type Operator int

// The constraint operators osquery sends.
const (
	Unique      Operator = 1
	Equals      Operator = 2
	In          Operator = 3
	GreaterThan Operator = 4
	LessOrEqual Operator = 8
	LessThan    Operator = 16
	GreaterOrEq Operator = 32
	Match       Operator = 64
	Like        Operator = 65
	Glob        Operator = 66
	Regexp      Operator = 67
)

// Constraint is one WHERE term pushed down to a table.
type Constraint struct {
	Column string
	Op     Operator
	Expr   string
}

// Eq is the constraint column = expr.
func Eq(column, expr string) Constraint { return Constraint{column, Equals, expr} }

// Column is one column route of a table, as registered or answered to "columns".
type Column struct {
	Name string
	Type string // TEXT, INTEGER, BIGINT, UNSIGNED BIGINT, DOUBLE, BLOB
	Op   int    // bitmask of Op* values
}

// Registration is one registerExtension call that the harness accepted.
type Registration struct {
	UUID     osquery.ExtensionRouteUUID
	Info     osquery.InternalExtensionInfo
	Registry osquery.ExtensionRegistry // registry → plugin → routes
	Socket   string                    // where the extension serves: <manager socket>.<uuid>
}

// Tables returns the registered table names, sorted.
func (r Registration) Tables() []string {
	var names []string
	for name := range r.Registry["table"] {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// StatusError is a call answered with a non-zero ExtensionStatus code.
type StatusError struct {
	Code    int32
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("extension status %d: %s", e.Code, e.Message)
}

// Harness is a fake osqueryd extension manager. Its methods are safe for
// concurrent use.
type Harness struct {
	socket string
	ln     net.Listener
	wg     sync.WaitGroup

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	active   map[osquery.ExtensionRouteUUID]Registration
	history  []Registration
	nextUUID osquery.ExtensionRouteUUID
	changed  chan struct{} // closed and replaced whenever the registrations change
	closed   bool
	hung     chan struct{} // non-nil after Hang: calls wait on it, closed by Close
}

// Hang makes the manager stop answering, as a hung osqueryd does: every later
// ping, deregistration or other call waits, with its connection open, until
// Close.
func (h *Harness) Hang() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hung == nil && !h.closed {
		h.hung = make(chan struct{})
	}
}

// waitIfHung blocks a call while the harness is hung.
func (h *Harness) waitIfHung() {
	h.mu.Lock()
	hung := h.hung
	h.mu.Unlock()
	if hung != nil {
		<-hung
	}
}

// Start listens on dir/osquery.em and serves the ExtensionManager protocol until
// Close. dir must exist and be short enough for a unix socket path (MaxSocketPath).
func Start(ctx context.Context, dir string) (*Harness, error) {
	socket := filepath.Join(dir, "osquery.em")
	if len(socket) > MaxSocketPath {
		return nil, fmt.Errorf("osquerytest: socket path %s is %d characters, at most %d fit", socket, len(socket), MaxSocketPath)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("osquerytest: %w", err)
	}
	h := &Harness{
		socket:   socket,
		ln:       ln,
		conns:    map[net.Conn]struct{}{},
		active:   map[osquery.ExtensionRouteUUID]Registration{},
		nextUUID: 1000,
		changed:  make(chan struct{}),
	}
	h.wg.Add(1)
	go h.accept()
	return h, nil
}

// Socket is the manager socket: pass it to the extension as --socket.
func (h *Harness) Socket() string { return h.socket }

func (h *Harness) accept() {
	defer h.wg.Done()
	processor := osquery.NewExtensionManagerProcessor(manager{h})
	for {
		conn, err := h.ln.Accept()
		if err != nil {
			return // closed
		}
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			conn.Close()
			return
		}
		h.conns[conn] = struct{}{}
		h.wg.Add(1)
		h.mu.Unlock()
		go h.serve(processor, conn)
	}
}

// serve answers requests on one connection until the peer closes it or the
// harness is closed (the loop of thrift's TSimpleServer.processRequests).
func (h *Harness) serve(processor thrift.TProcessor, conn net.Conn) {
	defer h.wg.Done()
	defer func() {
		h.mu.Lock()
		delete(h.conns, conn)
		h.mu.Unlock()
		conn.Close()
	}()
	trans := thrift.NewTBufferedTransport(thrift.NewTSocketFromConnConf(conn, nil), 8192)
	proto := thrift.NewTBinaryProtocolConf(trans, nil)
	for {
		ok, err := processor.Process(context.Background(), proto, proto)
		if err != nil {
			var tae thrift.TApplicationException
			if errors.As(err, &tae) && tae.TypeId() == thrift.UNKNOWN_METHOD {
				continue
			}
			return
		}
		if !ok {
			return
		}
	}
}

// Close stops the manager: the listener and every open connection are closed, as
// when osqueryd exits. It waits until the harness's goroutines have ended.
func (h *Harness) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	if h.hung != nil {
		close(h.hung)
	}
	err := h.ln.Close()
	for c := range h.conns {
		c.Close()
	}
	h.notifyLocked()
	h.mu.Unlock()
	h.wg.Wait()
	_ = os.Remove(h.socket)
	return err
}

func (h *Harness) notifyLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// Registrations returns the extensions registered now, oldest first.
func (h *Harness) Registrations() []Registration {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Registration, 0, len(h.active))
	for _, r := range h.active {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UUID < out[j].UUID })
	return out
}

// History returns every registration the harness accepted, including those since
// deregistered, oldest first.
func (h *Harness) History() []Registration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.history)
}

// WaitRegistered waits until an extension is registered and accepts connections on
// its socket (an extension registers first and listens after), and returns the
// newest registration.
func (h *Harness) WaitRegistered(ctx context.Context) (Registration, error) {
	r, err := h.wait(ctx, func() (Registration, bool) {
		var newest Registration
		for _, r := range h.active {
			if r.UUID > newest.UUID {
				newest = r
			}
		}
		return newest, newest.UUID != 0
	})
	if err != nil {
		return r, err
	}
	for {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "unix", r.Socket)
		if err == nil {
			conn.Close()
			return r, nil
		}
		select {
		case <-ctx.Done():
			return Registration{}, fmt.Errorf("osquerytest: extension %d registered but does not listen on %s: %w", r.UUID, r.Socket, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// WaitDeregistered waits until the extension with uuid is no longer registered.
func (h *Harness) WaitDeregistered(ctx context.Context, uuid osquery.ExtensionRouteUUID) error {
	_, err := h.wait(ctx, func() (Registration, bool) {
		_, ok := h.active[uuid]
		return Registration{}, !ok
	})
	return err
}

func (h *Harness) wait(ctx context.Context, done func() (Registration, bool)) (Registration, error) {
	for {
		h.mu.Lock()
		r, ok := done()
		closed, changed := h.closed, h.changed
		h.mu.Unlock()
		if ok {
			return r, nil
		}
		if closed {
			return Registration{}, errors.New("osquerytest: harness closed")
		}
		select {
		case <-ctx.Done():
			return Registration{}, fmt.Errorf("osquerytest: waiting for the extension: %w", ctx.Err())
		case <-changed:
		}
	}
}

// owner returns the registration that registered plugin item in registry.
func (h *Harness) owner(registry, item string) (Registration, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.active {
		if _, ok := r.Registry[registry][item]; ok {
			return r, nil
		}
	}
	return Registration{}, fmt.Errorf("osquerytest: no extension registered %s %q", registry, item)
}

// Call calls plugin item of registry in the extension that registered it, over a new
// connection to the extension's socket, as osquery core does.
func (h *Harness) Call(ctx context.Context, registry, item string, req osquery.ExtensionPluginRequest) (*osquery.ExtensionResponse, error) {
	r, err := h.owner(registry, item)
	if err != nil {
		return nil, err
	}
	return CallSocket(ctx, r.Socket, registry, item, req)
}

// CallSocket calls plugin item of registry in the extension serving on socket.
// The call is abandoned (its connection closed) when ctx ends.
func CallSocket(ctx context.Context, socket, registry, item string, req osquery.ExtensionPluginRequest) (*osquery.ExtensionResponse, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("osquerytest: dial extension: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	trans := thrift.NewTBufferedTransport(thrift.NewTSocketFromConnConf(conn, nil), 8192)
	client := osquery.NewExtensionClientFactory(trans, thrift.NewTBinaryProtocolFactoryConf(nil))
	resp, err := client.Call(ctx, registry, item, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("osquerytest: call %s %s: %w", registry, item, ctx.Err())
		}
		return nil, fmt.Errorf("osquerytest: call %s %s: %w", registry, item, err)
	}
	if resp.Status == nil {
		return nil, fmt.Errorf("osquerytest: call %s %s: response without status", registry, item)
	}
	return resp, nil
}

// Ping pings the extension that registered uuid, as osquery core's extension
// watcher does.
func (h *Harness) Ping(ctx context.Context, uuid osquery.ExtensionRouteUUID) error {
	return h.withExtension(ctx, uuid, func(c *osquery.ExtensionClient) error {
		st, err := c.Ping(ctx)
		if err != nil {
			return err
		}
		if st.Code != 0 {
			return &StatusError{st.Code, st.Message}
		}
		return nil
	})
}

// withExtension runs f with a client connected to the extension that registered
// uuid; the connection is closed when f returns or ctx ends.
func (h *Harness) withExtension(ctx context.Context, uuid osquery.ExtensionRouteUUID, f func(*osquery.ExtensionClient) error) error {
	h.mu.Lock()
	r, ok := h.active[uuid]
	h.mu.Unlock()
	if !ok {
		return fmt.Errorf("osquerytest: extension %d is not registered", uuid)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", r.Socket)
	if err != nil {
		return fmt.Errorf("osquerytest: dial extension: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	trans := thrift.NewTBufferedTransport(thrift.NewTSocketFromConnConf(conn, nil), 8192)
	if err := f(osquery.NewExtensionClientFactory(trans, thrift.NewTBinaryProtocolFactoryConf(nil))); err != nil {
		var se *StatusError
		if errors.As(err, &se) {
			return err
		}
		return fmt.Errorf("osquerytest: extension %d: %w", uuid, err)
	}
	return nil
}

// Shutdown calls the shutdown method of the extension that registered uuid, as
// osquery core may when it stops.
func (h *Harness) Shutdown(ctx context.Context, uuid osquery.ExtensionRouteUUID) error {
	return h.withExtension(ctx, uuid, func(c *osquery.ExtensionClient) error {
		return c.Shutdown(ctx)
	})
}

func statusErr(resp *osquery.ExtensionResponse) error {
	if resp.Status.Code != 0 {
		return &StatusError{resp.Status.Code, resp.Status.Message}
	}
	return nil
}

// Columns asks table for its columns ({"action":"columns"}).
func (h *Harness) Columns(ctx context.Context, table string) ([]Column, error) {
	resp, err := h.Call(ctx, "table", table, osquery.ExtensionPluginRequest{"action": "columns"})
	if err != nil {
		return nil, err
	}
	if err := statusErr(resp); err != nil {
		return nil, err
	}
	return parseRoutes(resp.Response)
}

// RegisteredColumns returns the column routes the extension registered for table.
func (h *Harness) RegisteredColumns(table string) ([]Column, error) {
	r, err := h.owner("table", table)
	if err != nil {
		return nil, err
	}
	return parseRoutes(r.Registry["table"][table])
}

func parseRoutes(routes osquery.ExtensionPluginResponse) ([]Column, error) {
	var cols []Column
	for _, r := range routes {
		if r["id"] != "column" {
			continue // osquery also knows "alias" and "columnAlias" routes
		}
		op, err := strconv.Atoi(r["op"])
		if err != nil {
			return nil, fmt.Errorf("osquerytest: column %q: bad op %q", r["name"], r["op"])
		}
		cols = append(cols, Column{Name: r["name"], Type: r["type"], Op: op})
	}
	return cols, nil
}

// Generate runs {"action":"generate"} on table with a query context holding the
// constraints (several on one column form one list, in order) and every column
// as used.
func (h *Harness) Generate(ctx context.Context, table string, constraints ...Constraint) ([]map[string]string, error) {
	cols, err := h.RegisteredColumns(table)
	if err != nil {
		return nil, err
	}
	qc, err := QueryContextJSON(cols, constraints)
	if err != nil {
		return nil, err
	}
	return h.GenerateJSON(ctx, table, qc)
}

// GenerateJSON runs {"action":"generate"} on table with a raw query context. A
// non-zero status is returned as a *StatusError.
func (h *Harness) GenerateJSON(ctx context.Context, table, queryContext string) ([]map[string]string, error) {
	resp, err := h.Call(ctx, "table", table, osquery.ExtensionPluginRequest{"action": "generate", "context": queryContext})
	if err != nil {
		return nil, err
	}
	if err := statusErr(resp); err != nil {
		return nil, err
	}
	return resp.Response, nil
}

type constraintJSON struct {
	Op   int    `json:"op"`
	Expr string `json:"expr"`
}

type constraintListJSON struct {
	Name     string           `json:"name"`
	List     []constraintJSON `json:"list"`
	Affinity string           `json:"affinity"`
}

type queryContextJSON struct {
	Constraints    []constraintListJSON `json:"constraints"`
	ColsUsed       []string             `json:"colsUsed"`
	ColsUsedBitset uint64               `json:"colsUsedBitset"`
}

// QueryContextJSON builds the query context osquery core sends for a query on a
// table with columns cols and the given pushed-down constraints: one entry per
// column, sorted by name (osquery keeps them in a std::map), each with the column's
// affinity and its constraint list; every column counts as used. A constraint on a
// column the table does not have is an error, as SQLite would reject the query.
func QueryContextJSON(cols []Column, constraints []Constraint) (string, error) {
	byName := map[string]*constraintListJSON{}
	var lists []*constraintListJSON
	for _, c := range cols {
		l := &constraintListJSON{Name: c.Name, List: []constraintJSON{}, Affinity: c.Type}
		byName[c.Name] = l
		lists = append(lists, l)
	}
	for _, c := range constraints {
		l, ok := byName[c.Column]
		if !ok {
			return "", fmt.Errorf("osquerytest: no column %q", c.Column)
		}
		l.List = append(l.List, constraintJSON{Op: int(c.Op), Expr: c.Expr})
	}
	sort.Slice(lists, func(i, j int) bool { return lists[i].Name < lists[j].Name })
	qc := queryContextJSON{Constraints: []constraintListJSON{}, ColsUsed: []string{}}
	for _, l := range lists {
		qc.Constraints = append(qc.Constraints, *l)
	}
	for i, c := range cols {
		qc.ColsUsed = append(qc.ColsUsed, c.Name)
		if i < 64 {
			qc.ColsUsedBitset |= 1 << uint(i)
		}
	}
	b, err := json.Marshal(qc)
	return string(b), err
}

// manager is the harness's ExtensionManager handler (osquery core's side).
type manager struct{ h *Harness }

func ok() *osquery.ExtensionStatus { return &osquery.ExtensionStatus{Code: 0, Message: "OK"} }

func (m manager) Ping(context.Context) (*osquery.ExtensionStatus, error) {
	m.h.waitIfHung()
	return ok(), nil
}

func (m manager) Call(_ context.Context, registry, item string, _ osquery.ExtensionPluginRequest) (*osquery.ExtensionResponse, error) {
	return &osquery.ExtensionResponse{Status: &osquery.ExtensionStatus{Code: 1,
		Message: "osquerytest: core registry calls are not supported: " + registry + "/" + item}}, nil
}

func (m manager) Shutdown(context.Context) error { return nil }

func (m manager) Extensions(context.Context) (osquery.InternalExtensionList, error) {
	m.h.mu.Lock()
	defer m.h.mu.Unlock()
	list := osquery.InternalExtensionList{0: {Name: "core", Version: "osquerytest", SdkVersion: "0.0.0"}}
	for uuid, r := range m.h.active {
		info := r.Info
		list[uuid] = &info
	}
	return list, nil
}

func (m manager) Options(context.Context) (osquery.InternalOptionList, error) {
	opt := func(v, typ string) *osquery.InternalOptionInfo {
		return &osquery.InternalOptionInfo{Value: v, DefaultValue: v, Type: typ}
	}
	return osquery.InternalOptionList{
		"extensions_socket":   opt(m.h.socket, "string"),
		"extensions_timeout":  opt("3", "string"),
		"extensions_interval": opt("3", "string"),
		"verbose":             opt("false", "bool"),
	}, nil
}

// RegisterExtension accepts an extension unless its name or one of its plugins is
// already registered (osquery core refuses duplicates the same way).
func (m manager) RegisterExtension(_ context.Context, info *osquery.InternalExtensionInfo, registry osquery.ExtensionRegistry) (*osquery.ExtensionStatus, error) {
	h := m.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if info == nil {
		return &osquery.ExtensionStatus{Code: 1, Message: "missing extension info"}, nil
	}
	for _, r := range h.active {
		if r.Info.Name == info.Name {
			return &osquery.ExtensionStatus{Code: 1, Message: "Duplicate extension registered"}, nil
		}
		for reg, plugins := range registry {
			for name := range plugins {
				if _, dup := r.Registry[reg][name]; dup {
					return &osquery.ExtensionStatus{Code: 1, Message: "Duplicate registry item: " + reg + "/" + name}, nil
				}
			}
		}
	}
	h.nextUUID++
	r := Registration{UUID: h.nextUUID, Info: *info, Registry: registry,
		Socket: h.socket + "." + strconv.FormatInt(int64(h.nextUUID), 10)}
	h.active[r.UUID] = r
	h.history = append(h.history, r)
	h.notifyLocked()
	return &osquery.ExtensionStatus{Code: 0, Message: "OK", UUID: r.UUID}, nil
}

func (m manager) DeregisterExtension(_ context.Context, uuid osquery.ExtensionRouteUUID) (*osquery.ExtensionStatus, error) {
	h := m.h
	h.waitIfHung()
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.active[uuid]; !ok {
		return &osquery.ExtensionStatus{Code: 1, Message: "No extension UUID registered"}, nil
	}
	delete(h.active, uuid)
	h.notifyLocked()
	return ok(), nil
}

func (m manager) Query(context.Context, string) (*osquery.ExtensionResponse, error) {
	return &osquery.ExtensionResponse{Status: &osquery.ExtensionStatus{Code: 1, Message: "osquerytest: query is not supported"}}, nil
}

func (m manager) GetQueryColumns(context.Context, string) (*osquery.ExtensionResponse, error) {
	return &osquery.ExtensionResponse{Status: &osquery.ExtensionStatus{Code: 1, Message: "osquerytest: getQueryColumns is not supported"}}, nil
}
