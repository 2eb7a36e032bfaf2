package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/modeldir"
	"github.com/contrastive-go/contrastive/models"
)

// copyDir copies the regular files of src into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// setFloat overwrites value i of the named F32 tensor of a safetensors file in place, as a
// flipped disk or memory bit would (the header is left as it was).
func setFloat(t *testing.T, path, name string, i int, v float32) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	var header map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	var e struct {
		DType       string  `json:"dtype"`
		DataOffsets []int64 `json:"data_offsets"`
	}
	if err := json.Unmarshal(header[name], &e); err != nil || e.DType != "F32" {
		t.Fatalf("%s has no F32 tensor %q (%v)", path, name, err)
	}
	at := 8 + int64(n) + e.DataOffsets[0] + 4*int64(i)
	binary.LittleEndian.PutUint32(b[at:], math.Float32bits(v))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// wantOneLineNaming checks a failed command: exit 1 and one line on stderr that names path.
func wantOneLineNaming(t *testing.T, what string, code int, stderr, path string, words ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	t.Logf("%s: %s", what, last)
	if code != 1 {
		t.Errorf("%s: exit %d, want 1 (stderr %q)", what, code, stderr)
	}
	if !strings.Contains(last, path) {
		t.Errorf("%s: the error %q does not name %s", what, last, path)
	}
	for _, w := range words {
		if !strings.Contains(last, w) {
			t.Errorf("%s: the error %q does not say %q", what, last, w)
		}
	}
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
		t.Errorf("%s: a stack trace reached the user: %s", what, stderr)
	}
}

// TestCorruptWeightsAreRefused damages a trained model directory as a flipped bit would (a NaN
// written over one weight of model.safetensors, then of checkpoint.safetensors) and saves a model
// whose weights are NaN with a valid checksum: eval, embed and train --resume must each refuse
// with one line naming the file, never write NaN vectors or print NaN scores.
func TestCorruptWeightsAreRefused(t *testing.T) {
	modelDir, dataDir := embedTestModel(t)
	nan := float32(math.NaN())

	t.Run("flipped weight in model.safetensors", func(t *testing.T) {
		dir := copyDir(t, modelDir)
		weights := filepath.Join(dir, modeldir.WeightsFile)
		setFloat(t, weights, "encoder.0.weight", 3, nan)
		code, _, stderr := runCLI("eval", "--model", dir, "--data", dataDir, "--linear-epochs", "0")
		wantOneLineNaming(t, "eval", code, stderr, weights, "checksum", "corrupt")
		out := filepath.Join(t.TempDir(), "e.npy")
		code, _, stderr = runCLI("embed", "--model", dir, "--data", dataDir, "--out", out)
		wantOneLineNaming(t, "embed", code, stderr, weights, "checksum", "corrupt")
		if _, err := os.Stat(out); err == nil {
			t.Errorf("embed wrote %s from a corrupt model", out)
		}
	})

	t.Run("flipped weight in checkpoint.safetensors", func(t *testing.T) {
		dir := copyDir(t, modelDir)
		ckpt := filepath.Join(dir, modeldir.CheckpointFile)
		setFloat(t, ckpt, "model.encoder.0.weight", 3, nan)
		code, _, stderr := runCLI("train", "--resume", "--out", dir)
		wantOneLineNaming(t, "train --resume", code, stderr, ckpt, "checksum", "corrupt")
	})

	t.Run("NaN weights saved with a valid checksum", func(t *testing.T) {
		dir := copyDir(t, modelDir)
		md, err := modeldir.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		p := md.Model.Params()[0]
		p.Value.Data[0] = nan
		var buf bytes.Buffer
		if err := md.Model.Save(&buf, nil); err != nil {
			t.Fatal(err)
		}
		weights := filepath.Join(dir, modeldir.WeightsFile)
		if err := os.WriteFile(weights, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := models.Load(buf.Bytes()); err == nil {
			t.Fatal("models.Load accepted NaN weights")
		}
		code, _, stderr := runCLI("eval", "--model", dir, "--data", dataDir, "--linear-epochs", "0")
		wantOneLineNaming(t, "eval", code, stderr, weights, "non-finite", p.Name)
	})
}
