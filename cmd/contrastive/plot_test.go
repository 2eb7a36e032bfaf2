package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// checkPlotPNG decodes the PNG at path and checks it has a sensible size; with PLOT_TEST_DIR set
// it also copies it there for a look.
func checkPlotPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
	if sz := img.Bounds().Size(); sz.X < 500 || sz.Y < 300 || sz.X > 3000 || sz.Y > 3000 {
		t.Errorf("%s is %dx%d", path, sz.X, sz.Y)
	}
	if dir := os.Getenv("PLOT_TEST_DIR"); dir != "" {
		b, _ := os.ReadFile(path)
		os.WriteFile(filepath.Join(dir, "cli-"+filepath.Base(path)), b, 0o644)
	}
}

func TestPlotWritesCurvesAndMaps(t *testing.T) {
	modelDir, dataDir := embedTestModel(t)

	// Default: PNGs in the model directory, the map from the training data (a folder without a
	// test split), PCA.
	code, stdout, stderr := runCLI("plot", "--model", modelDir, "--json")
	if code != 0 {
		t.Fatalf("plot: exit %d: %s", code, stderr)
	}
	var r plotResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("--json output %q: %v", stdout, err)
	}
	var names []string
	for _, f := range r.Files {
		names = append(names, filepath.Base(f))
		if filepath.Dir(f) != modelDir {
			t.Errorf("%s is not in the model directory", f)
		}
		checkPlotPNG(t, f)
	}
	sort.Strings(names)
	if strings.Join(names, " ") != "embedding.png knn.png loss.png lr.png" {
		t.Errorf("files %v, skipped %v", names, r.Skipped)
	}
	if r.Method != "pca" || r.Points != 90 || r.Data != dataDir {
		t.Errorf("result %+v", r)
	}

	// t-SNE on a seeded subset, into another directory.
	out := filepath.Join(t.TempDir(), "plots")
	code, stdout, stderr = runCLI("plot", "--model", modelDir, "--data", dataDir, "--out", out, "--tsne", "--max-points", "60", "--perplexity", "10", "--json")
	if code != 0 {
		t.Fatalf("plot --tsne: exit %d: %s", code, stderr)
	}
	r = plotResult{}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if r.Method != "tsne" || r.Points != 60 || len(r.Files) != 4 {
		t.Errorf("t-SNE result %+v", r)
	}
	emb := filepath.Join(out, "embedding.png")
	checkPlotPNG(t, emb)
	if os.Getenv("PLOT_TEST_DIR") != "" {
		b, _ := os.ReadFile(emb)
		os.WriteFile(filepath.Join(os.Getenv("PLOT_TEST_DIR"), "cli-tsne.png"), b, 0o644)
	}

	// Curves only, from a model directory whose log is gone: everything skipped, no error.
	os.Remove(filepath.Join(modelDir, "metrics.jsonl"))
	code, stdout, stderr = runCLI("plot", "--model", modelDir, "--embedding=false", "--out", t.TempDir())
	if code != 0 || !strings.Contains(stdout, "skipped loss.png") {
		t.Errorf("plot without metrics: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestPlotErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		code int // 2: a bad command line, refused when parsed
		want string
	}{
		{[]string{"--model", filepath.Join(dir, "nope")}, 1, "not a model directory"},
		{[]string{}, 1, "--model is required"},
		{[]string{"--model", dir, "--max-points", "2"}, 2, "--max-points: must be a whole number >= 4"},
		{[]string{"--model", dir, "--tsne", "--max-points", "50000"}, 1, "too many for exact t-SNE"},
	} {
		code, _, stderr := runCLI(append([]string{"plot"}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("plot %v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
