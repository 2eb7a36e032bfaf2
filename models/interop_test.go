package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/contrastive-go/contrastive/internal/gradcheck"
	"github.com/contrastive-go/contrastive/safetensors"
	"github.com/contrastive-go/contrastive/tensor"
)

// pythonWithTorch is Debian's interpreter, where python3-torch installs.
const pythonWithTorch = "/usr/bin/python3"

// torchRefPath finds bench/torch_ref.py in the shared folder beside or inside the checkout.
func torchRefPath() string {
	for _, p := range []string{"../../shared/bench/torch_ref.py", "../shared/bench/torch_ref.py", "/work/shared/bench/torch_ref.py"} {
		if _, err := os.Stat(p); err == nil {
			abs, _ := filepath.Abs(p)
			return abs
		}
	}
	return ""
}

// TestTorchInterop saves models with Model.Save, loads the files into the PyTorch models
// (torch_ref.py's Reference; torchvision's resnet18) with load_state_dict(strict=True) in
// testdata/torch_interop.py, and compares PyTorch's eval-mode embeddings h and z with ours.
func TestTorchInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PyTorch in a subprocess")
	}
	if _, err := os.Stat(pythonWithTorch); err != nil {
		t.Skipf("skipping: no %s (Debian's python3 with python3-torch)", pythonWithTorch)
	}
	ref := torchRefPath()
	if ref == "" {
		t.Skip("skipping: shared/bench/torch_ref.py not found")
	}
	cases := []struct {
		name  string
		cfg   Config
		input []int
	}{
		{"reference", Reference(), []int{3, 1, 28, 28}},
		{"resnet18 imagenet stem", Config{Name: ResNet18Name, Head: HeadConfig{Hidden: 64, Out: 32}}, []int{2, 3, 32, 32}},
		{"resnet18 cifar stem, gray", Config{Name: ResNet18CIFARName, InChannels: 1}, []int{2, 1, 12, 12}},
	}
	// Save every model and input, then run PyTorch once (importing torch is the slow part).
	dir := t.TempDir()
	args := []string{filepath.Join("testdata", "torch_interop.py"), ref}
	models := make([]*Model, len(cases))
	hs, zs := make([][]float32, len(cases)), make([][]float32, len(cases))
	for i, c := range cases {
		m := build(t, c.cfg, 11)
		warm(m, append([]int{4}, c.input[1:]...)...)
		x := gradcheck.Random(12, c.input...)
		models[i] = m
		hs[i], zs[i] = embed(m, x)
		var w, in bytes.Buffer
		if err := m.Save(&w, nil); err != nil {
			t.Fatal(err)
		}
		if err := safetensors.Write(&in, map[string]*tensor.Tensor{"x": x}, nil); err != nil {
			t.Fatal(err)
		}
		weights, inputs := filepath.Join(dir, fmt.Sprintf("w%d.safetensors", i)), filepath.Join(dir, fmt.Sprintf("x%d.safetensors", i))
		if err := os.WriteFile(weights, w.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(inputs, in.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, weights, inputs)
	}
	cmd := exec.Command(pythonWithTorch, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("torch_interop.py: %v\n%s", err, stderr.String())
	}
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var res struct {
				H, Z         [][]float64
				TrackedDType string `json:"tracked_dtype"`
				Unavailable  string
			}
			if i >= len(lines) {
				if len(lines) == 1 && bytes.Contains(lines[0], []byte("unavailable")) {
					t.Skipf("skipping: PyTorch unavailable: %s", lines[0])
				}
				t.Fatalf("torch_interop.py printed %d lines for %d models:\n%s", len(lines), len(cases), out)
			}
			if err := json.Unmarshal(lines[i], &res); err != nil {
				t.Fatalf("parsing %q: %v", lines[i], err)
			}
			if res.Unavailable != "" {
				t.Skipf("skipping: %s (apt-get install python3-torch python3-torchvision)", res.Unavailable)
			}
			if res.TrackedDType != "torch.int64" {
				t.Errorf("num_batches_tracked loads as %s, want torch.int64", res.TrackedDType)
			}
			compare(t, "h", hs[i], res.H, models[i].FeatureDim)
			compare(t, "z", zs[i], res.Z, models[i].ProjDim)
		})
	}
}

// compare checks ours (row-major [N,d]) against PyTorch's rows within 1e-4·max(1, |value|).
func compare(t *testing.T, what string, ours []float32, theirs [][]float64, d int) {
	t.Helper()
	if len(theirs)*d != len(ours) {
		t.Fatalf("%s: PyTorch returned %d rows for our %d values of width %d", what, len(theirs), len(ours), d)
	}
	worst := 0.0
	for i, row := range theirs {
		if len(row) != d {
			t.Fatalf("%s: PyTorch row %d has %d values, want %d", what, i, len(row), d)
		}
		for j, v := range row {
			diff := math.Abs(float64(ours[i*d+j])-v) / math.Max(1, math.Abs(v))
			worst = math.Max(worst, diff)
			if diff > 1e-4 {
				t.Fatalf("%s[%d,%d]: ours %.7g, PyTorch %.7g", what, i, j, ours[i*d+j], v)
			}
		}
	}
	t.Logf("%s: worst relative difference %.2g", what, worst)
}
