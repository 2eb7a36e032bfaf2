package main

import (
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/dist"
)

// TestVersionReportsMPI: version names the MPI library found, or says there is none.
func TestVersionReportsMPI(t *testing.T) {
	code, out, errs := runCLI("version")
	if code != 0 {
		t.Fatalf("version: exit %d: %s", code, errs)
	}
	line := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "MPI: ") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("version printed no MPI line:\n%s", out)
	}
	if _, err := dist.Library(); err == nil && !strings.Contains(line, "/lib") {
		t.Errorf("an MPI library is installed but version says %q", line)
	} else if err != nil && !strings.Contains(line, "none") {
		t.Errorf("no MPI library, but version says %q", line)
	}
}
