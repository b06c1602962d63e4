package forward_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/forward"
)

// TestDocsReceiverExample compiles the Go receiver of docs/forwarding.md and
// runs it on a request signed as the webhook signs: it accepts it, and refuses
// it with the body changed.
func TestDocsReceiverExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	doc, err := os.ReadFile("../../docs/forwarding.md")
	if err != nil {
		t.Fatal(err)
	}
	const open = "```go\n// verifyExechunt"
	i := bytes.Index(doc, []byte(open))
	if i < 0 {
		t.Fatal("docs/forwarding.md has no verifyExechunt block")
	}
	block := doc[i+len("```go\n"):]
	block = block[:bytes.Index(block, []byte("```"))]
	secret := []byte("a-receiver-secret-of-some-length")
	body := []byte(`[{"event":"anomaly.opened"}]`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig := forward.Sign(secret, ts, body)
	prog := `package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

` + string(block) + `
func main() {
	for _, body := range []string{os.Args[3], os.Args[3] + " "} {
		r, _ := http.NewRequest("POST", "https://receiver.example/hook", bytes.NewReader([]byte(body)))
		r.Header.Set("X-Exechunt-Timestamp", os.Args[1])
		r.Header.Set("X-Exechunt-Signature", os.Args[2])
		_, err := verifyExechunt(r, []byte(os.Getenv("SECRET")), time.Now())
		fmt.Println(err)
	}
}
`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(prog), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "main.go", ts, sig, string(body))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SECRET="+string(secret), "GOFLAGS=", "GO111MODULE=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "<nil>\nbad signature" {
		t.Fatalf("the docs' receiver said %q, want it to accept the signed body and refuse a changed one", got)
	}
}
