package agentapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// enrollRequest is osquery's enroll POST (remote/enroll/enroll.cpp).
type enrollRequest struct {
	EnrollSecret   string          `json:"enroll_secret"`
	HostIdentifier string          `json:"host_identifier"`
	PlatformType   flexInt         `json:"platform_type"` // bitmask, sent as a string
	HostDetails    json.RawMessage `json:"host_details"`
}

// enrollResponse carries the new node key. osquery treats an empty key as failure.
type enrollResponse struct {
	NodeKey     string `json:"node_key"`
	NodeInvalid bool   `json:"node_invalid"`
}

// hostDetails holds the first row of each table osquery sends at enrollment; all
// values are strings.
type hostDetails struct {
	OSVersion   map[string]flexString `json:"os_version"`
	OsqueryInfo map[string]flexString `json:"osquery_info"`
	SystemInfo  map[string]flexString `json:"system_info"`
}

// osquery's PlatformType bits (core/system.h).
const (
	platPOSIX   = 1
	platWindows = 2
	platBSD     = 4
	platLinux   = 8
	platOSX     = 16
	platFreeBSD = 32
)

// platformFamily maps the platform_type bitmask, or failing that os_version's
// platform, to the family used for targeting.
func platformFamily(bits int64, osPlatform string) string {
	switch {
	case bits&platWindows != 0:
		return "windows"
	case bits&platOSX != 0:
		return "darwin"
	case bits&platFreeBSD != 0:
		return "freebsd"
	case bits&platLinux != 0:
		return "linux"
	}
	switch p := strings.ToLower(osPlatform); p {
	case "":
		return ""
	case "windows", "darwin", "freebsd":
		return p
	default: // ubuntu, debian, rhel, centos, amzn, arch, …
		return "linux"
	}
}

func (h *Handler) enroll(ctx context.Context, r *http.Request, body []byte) (any, error) {
	var req enrollRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest("malformed enroll request: %v", err)
	}
	ok, err := h.secretValid(ctx, req.EnrollSecret)
	if err != nil {
		return nil, err
	}
	if !ok {
		h.refused.note(func(suppressed int) {
			h.log.Warn("enrollment refused: unknown enroll secret", "host_identifier", clipField(req.HostIdentifier),
				"remote", r.RemoteAddr, "refusals_not_logged", suppressed)
		})
		return nil, errNodeInvalid
	}
	var d hostDetails
	if len(req.HostDetails) > 0 && string(req.HostDetails) != "null" {
		if err := json.Unmarshal(req.HostDetails, &d); err != nil {
			return nil, badRequest("malformed host_details: %v", err)
		}
	}
	host := store.Host{
		Identifier:     req.HostIdentifier,
		Hostname:       string(d.SystemInfo["hostname"]),
		UUID:           string(d.SystemInfo["uuid"]),
		OSName:         string(d.OSVersion["name"]),
		OSPlatform:     string(d.OSVersion["platform"]),
		OSVersion:      string(d.OSVersion["version"]),
		OsqueryVersion: string(d.OsqueryInfo["version"]),
		Details:        req.HostDetails,
	}
	if host.UUID == "" {
		host.UUID = string(d.OsqueryInfo["uuid"])
	}
	if host.Hostname == "" {
		host.Hostname = req.HostIdentifier
	}
	if host.Identifier == "" {
		host.Identifier = host.Hostname
	}
	if host.Identifier == "" && host.UUID == "" {
		return nil, badRequest("enroll request without host_identifier or host details")
	}
	host.Platform = platformFamily(int64(req.PlatformType), host.OSPlatform)
	if len(host.Details) == 0 || string(host.Details) == "null" {
		host.Details = nil
	}
	boundHost(&host)
	key, err := newNodeKey()
	if err != nil {
		return nil, err
	}
	sum := hashKey(key)
	enrolled, err := h.c.Hosts.EnrollHost(ctx, store.Enrollment{Host: host, NodeKeyHash: sum[:]}, h.c.Now())
	if err != nil {
		return nil, err
	}
	h.forget(enrolled.ID)
	if enrolled.FirstSeen.Before(h.c.Now().Add(-time.Second)) {
		h.reenrolled(ctx, r, enrolled)
	} else {
		h.log.Info("host enrolled", "host_id", enrolled.ID, "hostname", clipField(enrolled.Hostname),
			"platform", enrolled.Platform, "osquery_version", clipField(enrolled.OsqueryVersion))
	}
	return enrollResponse{NodeKey: key}, nil
}

// secretValid compares the secret's hash with every valid secret's in constant
// time, without stopping at the first match.
func (h *Handler) secretValid(ctx context.Context, secret string) (bool, error) {
	secret = strings.TrimSpace(secret) // osquery trims the file; be as lenient
	if secret == "" {
		return false, nil
	}
	secrets, err := h.c.Secrets.EnrollSecrets(ctx)
	if err != nil {
		return false, err
	}
	sum := HashSecret(secret)
	ok := 0
	for _, s := range secrets {
		ok |= subtle.ConstantTimeCompare(sum, s.Hash)
	}
	return ok == 1, nil
}

// HashSecret is how enroll secrets are hashed for the store.
func HashSecret(secret string) []byte {
	s := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	return s[:]
}

// newNodeKey returns 256 random bits, base64url-encoded.
func newNodeKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// nodeKeyRequest is the body of config and distributed/read, and the start of
// every other request an enrolled host makes.
type nodeKeyRequest struct {
	NodeKey string `json:"node_key"`
}

func (k *nodeKeyRequest) nodeKey() string { return k.NodeKey }

// decodeAuthenticated parses an enrolled host's request body into req (what
// names the request in the error) and authenticates the host by the node key in
// it (or the one checked before the body was read). An empty body is allowed
// only where emptyOK: osqueryd sends none with some config requests.
func (h *Handler) decodeAuthenticated(ctx context.Context, r *http.Request, body []byte, what string, emptyOK bool,
	req interface{ nodeKey() string }) (store.Host, error) {
	if !emptyOK || len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, req); err != nil {
			return store.Host{}, badRequest("malformed %s: %v", what, err)
		}
	}
	return h.authenticate(ctx, r, req.nodeKey())
}

func (h *Handler) config(ctx context.Context, r *http.Request, body []byte) (any, error) {
	var req nodeKeyRequest
	host, err := h.decodeAuthenticated(ctx, r, body, "config request", true, &req)
	if err != nil {
		return nil, err
	}
	keyer, _ := h.c.Configs.(ConfigKeyer)
	key := ""
	if keyer != nil {
		key = keyer.ConfigKey(host)
		if b, ok := h.configs.Get(key); ok {
			return b, nil
		}
	}
	cfg, err := h.c.Configs.Config(ctx, host)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(cfg)+1)
	for k, v := range cfg {
		out[k] = v
	}
	out["node_invalid"] = false
	if keyer == nil {
		return out, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	h.configs.Put(key, b)
	return encodedJSON(b), nil
}

// encodedJSON is an answer already encoded.
type encodedJSON []byte

// configCacheMax bounds the encoded configurations kept by ConfigKey: keys are
// few (platforms × push-hunt targeting).
const configCacheMax = 256

// itoa is strconv.FormatInt for IDs in query names.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Bounds on what one enrollment stores: everyone holding the enroll secret (every
// host does) can enroll, and the hosts list answers with these fields.
const (
	maxHostField   = 255      // identifier, hostname, UUID, OS and osquery version
	maxHostDetails = 16 << 10 // the host_details JSON kept for the host page
)

// boundHost cuts a host's fields to maxHostField bytes of valid UTF-8 and drops
// host_details larger than maxHostDetails (the fields read from it are kept).
func boundHost(h *store.Host) {
	for _, f := range []*string{&h.Identifier, &h.Hostname, &h.UUID, &h.OSName, &h.OSPlatform, &h.OSVersion, &h.OsqueryVersion} {
		if len(*f) > maxHostField || !utf8.ValidString(*f) {
			*f = strings.ToValidUTF8((*f)[:min(len(*f), maxHostField)], "?") // also a rune split at the cut
		}
	}
	if len(h.Details) > maxHostDetails {
		h.Details = nil
	}
}

// reenrolled warns, and audits, that an existing host record got a new node key:
// its previous key stopped working. osquery does this when it loses its key, but
// so can anyone holding the enroll secret who sends the host's UUID.
func (h *Handler) reenrolled(ctx context.Context, r *http.Request, host store.Host) {
	h.log.Warn("host re-enrolled: its previous node key no longer works", "host_id", host.ID,
		"hostname", clipField(host.Hostname), "uuid", clipField(host.UUID), "remote", r.RemoteAddr)
	if h.c.Audit == nil {
		return
	}
	detail, _ := json.Marshal(map[string]string{"hostname": clipField(host.Hostname), "uuid": clipField(host.UUID),
		"identifier": clipField(host.Identifier), "first_seen": host.FirstSeen.UTC().Format(time.RFC3339)})
	if _, err := h.c.Audit.AddAudit(ctx, store.AuditEntry{Time: h.c.Now(), Actor: "agent", Remote: r.RemoteAddr,
		Action: "host.reenroll", Target: strconv.FormatInt(host.ID, 10), Detail: detail}); err != nil {
		h.log.Warn("auditing a re-enrollment", "host_id", host.ID, "err", err)
	}
}
