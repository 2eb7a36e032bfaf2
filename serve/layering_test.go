package serve

import (
	"os/exec"
	"strings"
	"testing"
)

// TestServeDoesNotImportTraining keeps the layering one-way: the search server reads model
// directories and indexes, and must not drag in the trainer, the methods, the losses or the
// optimizers.
func TestServeDoesNotImportTraining(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/contrastive-go/contrastive/serve", "github.com/contrastive-go/contrastive/index").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"/train", "/method", "/loss", "/optim"} {
			if strings.HasSuffix(dep, "github.com/contrastive-go/contrastive"+banned) {
				t.Errorf("serve or index depends on %s", dep)
			}
		}
	}
}
