package main

import (
	"bytes"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/internal/fixture"
	"github.com/contrastive-go/contrastive/modeldir"
)

// truncatedFolder writes a 3-class folder of 30 PNGs per class plus two good JPEGs and three
// truncated files whose headers are intact but whose pixel data stops early (a copy cut short):
// a PNG and two JPEGs. It returns the root and the truncated files.
func truncatedFolder(t *testing.T) (string, []string) {
	t.Helper()
	root := t.TempDir()
	fixture.FashionFolder(t, root, 3, 30, 0)
	pngs, _ := filepath.Glob(filepath.Join(root, "class*", "*.png"))
	src, err := os.ReadFile(pngs[0])
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	var jp bytes.Buffer
	if err := jpeg.Encode(&jp, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"class0/good.jpg":      jp.Bytes(),
		"class1/good.jpg":      jp.Bytes(),
		"class0/cut.png":       src[:len(src)/2],
		"class1/cut.jpg":       jp.Bytes()[:len(jp.Bytes())*3/4],
		"class2/cut-short.jpg": jp.Bytes()[:len(jp.Bytes())-40],
	}
	var cut []string
	for name, b := range files {
		p := filepath.Join(root, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(name, "cut") {
			continue
		}
		cut = append(cut, p)
		// The premise: each header reads, so only decoding the pixels finds the damage.
		fh, _ := os.Open(p)
		_, err := data.ProbeImage(fh, data.DecodeOptions{Gray: true})
		fh.Close()
		if err != nil {
			t.Fatalf("%s: the header of the truncated file does not read: %v", p, err)
		}
	}
	return root, cut
}

// TestSkipBadSkipsTruncatedImages: with --skip-bad, train, embed, index and eval succeed on a
// folder holding truncated images and list each one; without it, each command fails naming a
// truncated file before any training or embedding starts.
func TestSkipBadSkipsTruncatedImages(t *testing.T) {
	root, cut := truncatedFolder(t)
	out := filepath.Join(t.TempDir(), "model")
	trainArgs := []string{"train", "--data", root, "--out", out, "--epochs", "1", "--batch-size", "16", "--channels", "8,16",
		"--strides", "2,2", "--proj-dim", "16", "--knn-every", "-1"}

	// Without --skip-bad: one line naming a truncated file, and nothing trained.
	code, _, stderr := runCLI(trainArgs...)
	if code != 1 || !nameOneOf(stderr, cut) {
		t.Errorf("train without --skip-bad: exit %d, stderr %q; want exit 1 naming one of %v", code, stderr, cut)
	}
	for _, f := range []string{modeldir.WeightsFile, modeldir.CheckpointFile, modeldir.MetricsFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err == nil {
			t.Errorf("train without --skip-bad failed after it started: %s was written", f)
		}
	}
	if strings.Contains(stderr, "step") || strings.Contains(stderr, "epoch 1") {
		t.Errorf("train without --skip-bad failed mid-training: %q", stderr)
	}

	// With --skip-bad: trains, listing the truncated files.
	code, _, stderr = runCLI(append(trainArgs, "--skip-bad")...)
	if code != 0 {
		t.Fatalf("train --skip-bad: exit %d: %s", code, stderr)
	}
	listsAll(t, "train --skip-bad", stderr, cut)

	for _, c := range []struct {
		name string
		args []string
	}{
		{"embed", []string{"embed", "--model", out, "--data", root, "--out", filepath.Join(t.TempDir(), "e.npy")}},
		{"index", []string{"index", "--model", out, "--data", root, "--out", filepath.Join(t.TempDir(), "x.idx")}},
		{"eval", []string{"eval", "--model", out, "--data", root, "--linear-epochs", "0"}},
	} {
		code, _, stderr := runCLI(c.args...)
		if code != 1 || !nameOneOf(stderr, cut) {
			t.Errorf("%s without --skip-bad: exit %d, stderr %q; want exit 1 naming one of %v", c.name, code, stderr, cut)
		}
		if strings.Contains(stderr, "embedded") || strings.Contains(stderr, "embedding") {
			t.Errorf("%s without --skip-bad failed after embedding began: %q", c.name, stderr)
		}
		code, _, stderr = runCLI(append(c.args, "--skip-bad")...)
		if code != 0 {
			t.Errorf("%s --skip-bad: exit %d: %s", c.name, code, stderr)
			continue
		}
		listsAll(t, c.name+" --skip-bad", stderr, cut)
	}
}

func nameOneOf(s string, paths []string) bool {
	for _, p := range paths {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func listsAll(t *testing.T, what, stderr string, paths []string) {
	t.Helper()
	for _, p := range paths {
		if !strings.Contains(stderr, p) {
			t.Errorf("%s does not list the skipped %s:\n%s", what, p, stderr)
		}
	}
}
