package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/internal/fixture"
	"github.com/contrastive-go/contrastive/modeldir"

	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/infer"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/safetensors"
	"github.com/contrastive-go/contrastive/train"
)

// embedTestFolder writes n Fashion-MNIST PNGs per class into a class-per-subfolder tree.
func embedTestFolder(t *testing.T, classes, n int) string {
	root := t.TempDir()
	fixture.FashionFolder(t, root, classes, n, 0)
	return root
}

// embedTestModel trains a tiny model for two epochs (with the kNN monitor after each) on a
// 3-class folder and returns the model and data directories.
func embedTestModel(t *testing.T) (modelDir, dataDir string) {
	t.Helper()
	dataDir = embedTestFolder(t, 3, 30)
	cfg := train.Default()
	cfg.Data = dataDir
	cfg.Out = filepath.Join(t.TempDir(), "model")
	cfg.Epochs = 2
	cfg.BatchSize = 32
	cfg.LogEvery = 1
	cfg.KNNEvery = 1
	cfg.Workers = 2
	cfg.Model = models.Config{Name: models.SmallCNNName, PoolGrid: 1, Channels: []int{8, 16}, Strides: []int{2, 2}, Head: models.HeadConfig{Hidden: 32, Out: 16}}
	if _, err := train.Run(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	return cfg.Out, dataDir
}

// runCLI runs the command line and returns its exit status, stdout and stderr.
func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestEmbedFormats(t *testing.T) {
	modelDir, dataDir := embedTestModel(t)
	md, err := modeldir.Open(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := data.OpenForModel(dataDir, data.ModelOptions{Channels: md.Channels()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := ds.Get(0)
	tr, err := md.EvalTransform(first.Image.H, first.Image.C)
	if err != nil {
		t.Fatal(err)
	}
	want, err := infer.Embed(md.Model, ds, tr, infer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()

	// npy: embeddings, ids and labels round-trip.
	npyPath := filepath.Join(out, "sub", "emb.npy")
	code, stdout, stderr := runCLI("embed", "--model", modelDir, "--data", dataDir, "--out", npyPath, "--json")
	if code != 0 {
		t.Fatalf("embed npy: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "90/90 images") {
		t.Errorf("no progress line on stderr: %q", stderr)
	}
	var r embedResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("--json output %q: %v", stdout, err)
	}
	if r.N != 90 || r.Dim != want.D || r.Format != "npy" || r.Out != npyPath || r.Features != "h" {
		t.Errorf("--json result %+v", r)
	}
	a, err := data.ReadNPYFile(npyPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Shape) != 2 || a.Shape[0] != want.N || a.Shape[1] != want.D {
		t.Fatalf("npy shape %v, want [%d %d]", a.Shape, want.N, want.D)
	}
	for i, v := range want.Data {
		if a.Data[i] != v {
			t.Fatalf("npy value %d: %v, infer.Embed gives %v", i, a.Data[i], v)
		}
	}
	ids, err := os.ReadFile(filepath.Join(out, "sub", "emb.ids.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSuffix(string(ids), "\n"), "\n"); len(got) != want.N || got[7] != want.IDs[7] {
		t.Errorf("ids file: %d lines, line 8 %q, want %d lines, %q", len(got), got[7], want.N, want.IDs[7])
	}
	l, err := data.ReadNPYFile(filepath.Join(out, "sub", "emb.labels.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Dtype != "<i8" || len(l.Data) != want.N {
		t.Fatalf("labels npy: %s of %d values", l.Dtype, len(l.Data))
	}
	for i, v := range want.Labels {
		if int(l.Data[i]) != v {
			t.Fatalf("label %d: %v, want %d", i, l.Data[i], v)
		}
	}

	// csv (format from the extension): a header and one row per sample.
	csvPath := filepath.Join(out, "emb.csv")
	if code, _, stderr := runCLI("embed", "--model", modelDir, "--data", dataDir, "--out", csvPath); code != 0 {
		t.Fatalf("embed csv: exit %d: %s", code, stderr)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != want.N+1 || len(rows[0]) != want.D+2 || rows[0][0] != "id" || rows[0][1] != "label" || rows[0][2] != "f0" {
		t.Fatalf("csv: %d rows of %d columns, header %v", len(rows), len(rows[0]), rows[0][:3])
	}
	if rows[1][0] != want.IDs[0] || rows[1][1] != fmt.Sprint(want.Labels[0]) || rows[1][2] != fmt.Sprint(want.Data[0]) {
		t.Errorf("csv row 1 starts %v, want %s,%d,%v", rows[1][:3], want.IDs[0], want.Labels[0], want.Data[0])
	}

	// safetensors with --projection: z, labels as I64, ids and classes in the metadata.
	stPath := filepath.Join(out, "z.safetensors")
	if code, _, stderr := runCLI("embed", "--model", modelDir, "--data", dataDir, "--out", stPath, "--projection"); code != 0 {
		t.Fatalf("embed safetensors: exit %d: %s", code, stderr)
	}
	st, err := safetensors.ReadFile(stPath)
	if err != nil {
		t.Fatal(err)
	}
	e := st.Tensors["embeddings"]
	if e == nil || len(e.Shape) != 2 || e.Shape[0] != want.N || e.Shape[1] != 16 {
		t.Fatalf("safetensors embeddings: %v", e)
	}
	if st.DTypes["labels"] != safetensors.I64 || int(st.Tensors["labels"].Data[5]) != want.Labels[5] {
		t.Errorf("safetensors labels: %s %v", st.DTypes["labels"], st.Tensors["labels"])
	}
	var mids, classes []string
	if err := json.Unmarshal([]byte(st.Metadata["ids"]), &mids); err != nil || len(mids) != want.N || mids[3] != want.IDs[3] {
		t.Errorf("safetensors ids metadata: %v (%d ids)", err, len(mids))
	}
	if err := json.Unmarshal([]byte(st.Metadata["classes"]), &classes); err != nil || len(classes) != 3 {
		t.Errorf("safetensors classes metadata %q: %v", st.Metadata["classes"], err)
	}
	if st.Metadata["features"] != "z" {
		t.Errorf("features metadata %q, want z", st.Metadata["features"])
	}
	leftovers, _ := filepath.Glob(filepath.Join(out, ".*tmp-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestEmbedErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", filepath.Join(dir, "nope"), "--out", filepath.Join(dir, "e.npy")}, "not a model directory"},
		{[]string{"--model", dir, "--out", filepath.Join(dir, "e.npy"), "--format", "parquet"}, `unknown --format "parquet"`},
		{[]string{"--model", dir, "--out", filepath.Join(dir, "e.bin")}, "cannot tell the format"},
		{[]string{"--out", filepath.Join(dir, "e.npy")}, "--model is required"},
		{[]string{"--model", dir}, "--out is required"},
	} {
		code, _, stderr := runCLI(append([]string{"embed"}, c.args...)...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("embed %v: exit %d, stderr %q; want exit 1 and %q", c.args, code, stderr, c.want)
		}
		if strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("embed %v: the error is not one line: %q", c.args, stderr)
		}
	}
}
