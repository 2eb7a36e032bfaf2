package train

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
)

// A bf16 run trains (its losses close to, but not the same as, the float32 run's from the same
// seed), records its precision, resumes bit for bit, and refuses to resume as float32.
func TestBF16PrecisionTrainsAndResumesExactly(t *testing.T) {
	if err := autodiff.CheckPrecision("bf16"); err != nil {
		t.Skipf("no bf16 here: %v", err)
	}
	t.Cleanup(func() { autodiff.SetConvPrecision("fp32") })
	root := writeFolder(t, 3, 40)
	ref := tinyConfig(root, filepath.Join(t.TempDir(), "fp32"))
	if _, err := Run(context.Background(), ref, nil); err != nil {
		t.Fatal(err)
	}
	full := tinyConfig(root, filepath.Join(t.TempDir(), "bf16"))
	full.Precision = "bf16"
	if _, err := Run(context.Background(), full, nil); err != nil {
		t.Fatal(err)
	}
	if stored, err := StoredConfig(full.Out); err != nil || stored.Precision != "bf16" {
		t.Fatalf("stored precision %q (%v), want bf16", stored.Precision, err)
	}
	want, fp := losses(t, full.Out), losses(t, ref.Out)
	if len(want) != len(fp) || len(want) == 0 {
		t.Fatalf("%d bf16 losses, %d float32", len(want), len(fp))
	}
	if want[0] == fp[0] {
		t.Errorf("step 1: bf16 loss %v is float32's exactly: the bf16 products did not run", want[0])
	}
	for i := range want {
		if d := math.Abs(want[i]-fp[i]) / fp[i]; d > 0.05 {
			t.Errorf("step %d: bf16 loss %v, float32 %v (%.1f%% apart)", i+1, want[i], fp[i], 100*d)
		}
	}

	part := tinyConfig(root, filepath.Join(t.TempDir(), "part"))
	part.Precision = "bf16"
	part.MaxSteps = 3
	if r, err := Run(context.Background(), part, nil); err != nil || r.Stopped != "max-steps" {
		t.Fatalf("first leg: %v, %+v", err, r)
	}
	asFP32 := resumed(part)
	asFP32.Precision, asFP32.MaxSteps = "fp32", 0
	if _, err := Run(context.Background(), asFP32, nil); err == nil || !strings.Contains(err.Error(), "precision") {
		t.Fatalf("resuming a bf16 run as fp32: %v, want a refusal naming precision", err)
	}
	part.MaxSteps, part.Precision = 0, "" // "": the stored precision
	if _, err := Run(context.Background(), resumed(part), nil); err != nil {
		t.Fatal(err)
	}
	got := losses(t, part.Out)
	if len(got) != len(want) {
		t.Fatalf("resumed run logged %d losses, uninterrupted %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d: resumed bf16 loss %v, uninterrupted %v (must be bit-identical)", i+1, got[i], want[i])
		}
	}
}
