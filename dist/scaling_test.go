package dist_test

import (
	"flag"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/models"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the README's scaling tables")

func TestScalingModel(t *testing.T) {
	// 2 ranks: each sends half of the buffer twice, i.e. the whole buffer once.
	if got := dist.RingAllReduceBytes(2, 1000); got != 1000 {
		t.Errorf("RingAllReduceBytes(2, 1000) = %v, want 1000", got)
	}
	if got := dist.RingAllReduceBytes(64, 1000); math.Abs(got-1968.75) > 1e-9 {
		t.Errorf("RingAllReduceBytes(64, 1000) = %v, want 1968.75", got)
	}
	// 4 ranks, 8 images × 2 views × 4 floats = 256 bytes gathered: 3/4 received, then an
	// all-reduce of 256 bytes (3/2 of it).
	if got := dist.GatherNegativesBytes(4, 8, 2, 4); got != 192+384 {
		t.Errorf("GatherNegativesBytes(4, 8, 2, 4) = %v, want 576", got)
	}
}

// TestReadmeScalingTables: the README's tables are ScalingTable's for the reference CNN and
// ResNet-18 (go test ./dist -run ReadmeScaling -update-readme rewrites them).
func TestReadmeScalingTables(t *testing.T) {
	const path = "../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skip("no README next to the package")
	}
	readme := string(b)
	for _, c := range []struct {
		tag string
		cfg models.Config
	}{
		{"reference", models.Reference()},
		{"resnet18", models.Config{Name: models.ResNet18Name, InChannels: 3}},
	} {
		m, err := models.Build(c.cfg, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := dist.ScalingTable(m.NumParams(), 256, m.ProjDim)
		open, end := "<!-- scaling table: "+c.tag+" -->\n", "<!-- end of scaling table -->"
		i := strings.Index(readme, open)
		j := strings.Index(readme[max(i, 0):], end)
		if i < 0 || j < 0 {
			t.Fatalf("README.md has no %q ... %q block", open, end)
		}
		j += i
		if got := readme[i+len(open) : j]; got != want {
			if *updateReadme {
				readme = readme[:i+len(open)] + want + readme[j:]
				continue
			}
			t.Errorf("README.md's %s scaling table is not ScalingTable's (%d parameters, embeddings of %d): rerun with -update-readme\nwant:\n%s", c.tag, m.NumParams(), m.ProjDim, want)
		}
	}
	if *updateReadme {
		if err := os.WriteFile(path, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
