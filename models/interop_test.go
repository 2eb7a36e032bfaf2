package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/augment"
	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/internal/gradcheck"
	"github.com/contrastive-go/contrastive/safetensors"
	"github.com/contrastive-go/contrastive/tensor"
)

// pythonWithTorch is Debian's interpreter, where python3-torch installs.
const pythonWithTorch = "/usr/bin/python3"

// TestTorchInterop saves one model of every kind the CLI can train (each encoder, each head kind,
// final BatchNorm, predictors, the default recipe's pooled-grid small CNN, odd channel counts and
// strides) with Model.Save, loads the files into PyTorch with the repository's
// python/contrastive_torch.py (strict load_state_dict; testdata/torch_interop.py drives it), and
// compares PyTorch's eval-mode h, z and p with ours. For ResNet-18 of the default widths,
// torchvision's resnet18 must load the encoder weights and give the same h too. Two cases pass
// raw pixels and the augmentation preset, so the module's standardise must match our evaluation
// transform: what `contrastive embed` computes, PyTorch reproduces.
func TestTorchInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PyTorch in a subprocess")
	}
	if _, err := os.Stat(pythonWithTorch); err != nil {
		t.Skipf("skipping: no %s (Debian's python3 with python3-torch)", pythonWithTorch)
	}
	module, err := filepath.Abs(filepath.Join("..", "python", "contrastive_torch.py"))
	if err != nil {
		t.Fatal(err)
	}
	recipe := Config{Name: SmallCNNName, Channels: []int{32, 64, 128}, Strides: []int{1, 2, 2}, PoolGrid: 2,
		Head: HeadConfig{Kind: HeadMLP2, Hidden: 512, Out: 128}} // train.RecipeModel(), the default of `contrastive train`
	predictor := &HeadConfig{Kind: HeadMLP2BN, Hidden: 24}
	cases := []struct {
		name   string
		cfg    Config
		input  []int
		preset string // "": the input is fed as is; else raw pixels, standardised by the preset's eval transform
	}{
		{"reference", Reference(), []int{3, 1, 28, 28}, ""},
		{"default recipe (pool grid 2)", recipe, []int{3, 1, 28, 28}, ""},
		{"default recipe from raw pixels, small-gray", recipe, []int{2, 1, 28, 28}, "small-gray"},
		{"small-cnn rgb, 4 layers, pool grid 2 over 3x3 (overlapping windows), mlp3-bn + final BN", Config{Name: SmallCNNName, InChannels: 3,
			Channels: []int{8, 16, 24, 12}, Strides: []int{2, 1, 2, 1}, PoolGrid: 2, Head: HeadConfig{Kind: HeadMLP3BN, Hidden: 20, Out: 10, FinalBN: true}}, []int{3, 3, 11, 11}, ""},
		{"small-cnn rgb from raw pixels, moco-v2 (ImageNet statistics)", Config{Name: SmallCNNName, InChannels: 3, Channels: []int{8, 16}, Strides: []int{2, 2},
			Head: HeadConfig{Kind: HeadLinear, Out: 6}}, []int{2, 3, 12, 12}, "moco-v2"},
		{"small-cnn, pool grid 3, no head", Config{Name: SmallCNNName, Channels: []int{6, 10}, Strides: []int{1, 2}, PoolGrid: 3, Head: HeadConfig{Kind: HeadNone}}, []int{2, 1, 9, 9}, ""},
		{"small-cnn, linear head + final BN", Config{Name: SmallCNNName, Channels: []int{6}, Strides: []int{3}, Head: HeadConfig{Kind: HeadLinear, Out: 5, FinalBN: true}}, []int{2, 1, 10, 10}, ""},
		{"small-cnn, mlp2-bn head and mlp2-bn predictor (BYOL, SimSiam)", Config{Name: SmallCNNName, Channels: []int{8, 16}, Strides: []int{2, 2},
			Head: HeadConfig{Kind: HeadMLP2BN, Hidden: 32, Out: 12}, Predictor: predictor}, []int{3, 1, 14, 14}, ""},
		{"resnet18 imagenet stem", Config{Name: ResNet18Name, Head: HeadConfig{Hidden: 64, Out: 32}}, []int{2, 3, 32, 32}, ""},
		{"resnet18 cifar stem, gray", Config{Name: ResNet18CIFARName, InChannels: 1}, []int{2, 1, 12, 12}, ""},
		{"resnet18 cifar stem, narrow widths, predictor", Config{Name: ResNet18CIFARName, Channels: []int{8, 16, 24, 32}, Head: HeadConfig{Out: 16},
			Predictor: &HeadConfig{Kind: HeadMLP2BN, Hidden: 8}}, []int{2, 3, 10, 10}, ""},
		{"mlp for vectors, mlp2-bn head", Config{Name: MLPName, InputDim: 20, Hidden: []int{32, 16}, Head: HeadConfig{Kind: HeadMLP2BN, Out: 8}}, []int{4, 20}, ""},
	}
	// Save every model and input, then run PyTorch once (importing torch is the slow part).
	dir := t.TempDir()
	type entry struct {
		Weights string `json:"weights"`
		Input   string `json:"input"`
		Preset  string `json:"preset,omitempty"`
	}
	var manifest []entry
	models := make([]*Model, len(cases))
	hs, zs, ps := make([][]float32, len(cases)), make([][]float32, len(cases)), make([][]float32, len(cases))
	for i, c := range cases {
		m := build(t, c.cfg, 11)
		warm(m, append([]int{4}, c.input[1:]...)...)
		x := gradcheck.Random(12, c.input...)
		fed := x
		if c.preset != "" {
			for j := range x.Data {
				x.Data[j] = float32(math.Abs(float64(x.Data[j]))) / 4 // raw pixels in [0, 1)
			}
			fed = evalTransformed(t, x, c.preset)
		}
		models[i] = m
		hs[i], zs[i], ps[i] = embedAll(m, fed)
		var w, in bytes.Buffer
		if err := m.Save(&w, nil); err != nil {
			t.Fatal(err)
		}
		if err := safetensors.Write(&in, map[string]*tensor.Tensor{"x": x}, nil); err != nil {
			t.Fatal(err)
		}
		e := entry{filepath.Join(dir, fmt.Sprintf("w%d.safetensors", i)), filepath.Join(dir, fmt.Sprintf("x%d.safetensors", i)), c.preset}
		if err := os.WriteFile(e.Weights, w.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(e.Input, in.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		manifest = append(manifest, e)
	}
	// Last, the first model's file with one weight's bytes changed: the module must refuse it.
	good, err := os.ReadFile(manifest[0].Weights)
	if err != nil {
		t.Fatal(err)
	}
	good[len(good)-5] ^= 0x40
	damaged := entry{filepath.Join(dir, "damaged.safetensors"), manifest[0].Input, ""}
	if err := os.WriteFile(damaged.Weights, good, 0o644); err != nil {
		t.Fatal(err)
	}
	manifest = append(manifest, damaged)
	mpath := filepath.Join(dir, "manifest.json")
	mjs, _ := json.Marshal(manifest)
	if err := os.WriteFile(mpath, mjs, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pythonWithTorch, filepath.Join("testdata", "torch_interop.py"), module, mpath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("torch_interop.py: %v\n%s%s", err, out, stderr.String())
	}
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	if len(lines) == 1 && bytes.Contains(lines[0], []byte(`"unavailable"`)) {
		t.Skipf("skipping: PyTorch unavailable: %s (apt-get install python3-torch python3-torchvision)", lines[0])
	}
	if len(lines) != len(manifest) {
		t.Fatalf("torch_interop.py printed %d lines for %d files:\n%s", len(lines), len(manifest), out)
	}
	var refused struct{ Error string }
	if json.Unmarshal(lines[len(cases)], &refused); !strings.Contains(refused.Error, "data_crc32") {
		t.Errorf("a damaged file loaded in PyTorch: %.200s", lines[len(cases)])
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var res struct {
				H, Z, P      [][]float64
				Error        string
				TrackedDType string `json:"tracked_dtype"`
				Torchvision  *struct {
					H           [][]float64
					Unavailable string
				}
			}
			if err := json.Unmarshal(lines[i], &res); err != nil || res.Error != "" {
				t.Fatalf("PyTorch: %q (%v)", lines[i], err)
			}
			if res.TrackedDType != "torch.int64" {
				t.Errorf("num_batches_tracked loads as %q, want torch.int64", res.TrackedDType)
			}
			compare(t, "h", hs[i], res.H, models[i].FeatureDim)
			compare(t, "z", zs[i], res.Z, models[i].ProjDim)
			if models[i].Predictor != nil {
				compare(t, "p", ps[i], res.P, len(ps[i])/c.input[0])
			} else if res.P != nil {
				t.Errorf("PyTorch built a predictor the model does not have")
			}
			if tv := res.Torchvision; tv != nil {
				if tv.Unavailable != "" {
					t.Logf("torchvision comparison skipped: %s (apt-get install python3-torchvision)", tv.Unavailable)
				} else {
					compare(t, "torchvision h", hs[i], tv.H, models[i].FeatureDim)
				}
			}
		})
	}
}

// embedAll computes h, z and (with a predictor) p of x in the model's current mode.
func embedAll(m *Model, x *tensor.Tensor) (h, z, p []float32) {
	tp := autodiff.NewTape()
	tp.NoGrad = true
	hv := m.Encode(tp.Constant(x))
	zv := m.Project(hv)
	h, z = append([]float32(nil), hv.Data()...), append([]float32(nil), zv.Data()...)
	if m.Predictor != nil {
		p = append([]float32(nil), m.Predict(zv).Data()...)
	}
	return h, z, p
}

// evalTransformed applies the evaluation transform of an augmentation preset (what embed, eval
// and serve apply before the encoder) to each image of x [N,C,H,W].
func evalTransformed(t *testing.T, x *tensor.Tensor, preset string) *tensor.Tensor {
	t.Helper()
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	tr, err := augment.Eval(preset, h, c)
	if err != nil {
		t.Fatal(err)
	}
	out := tensor.New(x.Shape...)
	per := c * h * w
	for i := 0; i < n; i++ {
		img := data.Image{C: c, H: h, W: w, Pix: append([]float32(nil), x.Data[i*per:(i+1)*per]...)}
		copy(out.Data[i*per:], tr.Apply(img, nil).Pix)
	}
	return out
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
