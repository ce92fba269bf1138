package wire_test

import (
	"os/exec"
	"strings"
	"testing"
)

// pure are the packages that must not depend on cgo at all; the
// Makefile's PURE list builds them (and systems, whose ENet default is
// left out without cgo) with CGO_ENABLED=0 and for GOOS=js.
var pure = []string{
	"github.com/netburi/netburi/wire",
	"github.com/netburi/netburi/transport",
	"github.com/netburi/netburi/transport/memnet",
	"github.com/netburi/netburi/components",
	"github.com/netburi/netburi/replication",
	"github.com/netburi/netburi/replication/quant",
	"github.com/netburi/netburi/replication/cubes",
	"github.com/netburi/netburi/internal/fixedcodec",
}

// No pure package depends, directly or not, on a package that imports "C"
// (with cgo enabled, as on a developer's machine).
func TestPurePackagesImportNoCgo(t *testing.T) {
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}} {{len .CgoFiles}}"}, pure...)
	cmd := exec.Command("go", args...)
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	seen := 0
	for line := range strings.Lines(string(out)) {
		path, cgo, _ := strings.Cut(strings.TrimSpace(line), " ")
		seen++
		if cgo != "0" {
			t.Errorf("%s has %s cgo files and a pure package depends on it", path, cgo)
		}
	}
	if seen < len(pure) {
		t.Fatalf("go list listed %d packages, want at least %d", seen, len(pure))
	}
}
