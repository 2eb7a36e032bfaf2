// Package testvec reads the PyTorch reference test vectors copied into each package's testdata/
// (see ../shared/testvectors/README.md): tensors are {"shape": [...], "data": [...]} in float64.
package testvec

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"
)

// Tensor is a reference tensor: row-major float64 data with its shape.
type Tensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

// F32 returns the data converted to float32.
func (t Tensor) F32() []float32 {
	out := make([]float32, len(t.Data))
	for i, v := range t.Data {
		out[i] = float32(v)
	}
	return out
}

// Load decodes the JSON file at path into v, failing the test on error.
func Load(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading test vectors: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
}

// MaxAbs returns the largest |x| in want, floored at floor.
func MaxAbs(want []float64, floor float64) float64 {
	m := floor
	for _, v := range want {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

// Close checks |got−want| <= tol·max(|want|_inf, 1e-3) elementwise (the README's float32 rule for
// gradient tensors) and reports the first mismatch.
func Close(t testing.TB, name string, got []float32, want Tensor, tol float64) {
	t.Helper()
	if len(got) != len(want.Data) {
		t.Errorf("%s: got %d values, want %d (shape %v)", name, len(got), len(want.Data), want.Shape)
		return
	}
	bound := tol * MaxAbs(want.Data, 1e-3)
	for i := range got {
		if d := math.Abs(float64(got[i]) - want.Data[i]); !(d <= bound) {
			t.Errorf("%s[%d] = %g, want %g (|diff| %.3g > %.3g)", name, i, got[i], want.Data[i], d, bound)
			return
		}
	}
}

// CloseScalar checks a scalar to relative tolerance tol.
func CloseScalar(t testing.TB, name string, got float64, want, tol float64) {
	t.Helper()
	if d := math.Abs(got - want); !(d <= tol*math.Max(1, math.Abs(want))) {
		t.Errorf("%s = %.9g, want %.9g (|diff| %.3g)", name, got, want, d)
	}
}

// String formats a tensor's shape for messages.
func (t Tensor) String() string { return fmt.Sprintf("Tensor%v", t.Shape) }
