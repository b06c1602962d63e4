package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/exechunt/exechunt/"

// rules: packages matching the prefix must not depend (non-test imports, transitively)
// on any package with the forbidden prefixes, for the reason given.
var rules = []struct {
	pkgs      string
	forbidden []string
	why       string
}{
	{"orchestrator/", []string{"tables/", "extension/", "offline/"}, "the server must not link agent-side code (it knows table schemas from the --spec snapshot)"},
	{"tables/", []string{"extension/", "orchestrator/", "offline/"}, "tables are served by the extension, the offline engine and plugins alike"},
	{"offline/", []string{"extension/"}, "the offline engine hosts tables itself; plugins are mounted by the command that names them"},
}

func TestDependencyRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], module) {
			continue
		}
		pkg := strings.TrimPrefix(fields[0], module)
		for _, r := range rules {
			if !strings.HasPrefix(pkg, r.pkgs) {
				continue
			}
			checked++
			for _, dep := range fields[1:] {
				for _, bad := range r.forbidden {
					if strings.HasPrefix(dep, module+bad) {
						t.Errorf("%s imports %s: %s", pkg, strings.TrimPrefix(dep, module), r.why)
					}
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d packages checked: the package list is wrong", checked)
	}
}
