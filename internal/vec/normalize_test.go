package vec

import (
	"math"
	"testing"
)

func TestNormalizeRows(t *testing.T) {
	src := []float32{3, 4, 0, 0, 1e-20, 0, float32(math.NaN()), 1, 1, 1}
	d := 2
	dst := make([]float32, len(src))
	norms := make([]float64, len(src)/d)
	NormalizeRows(dst, src, d, 1e-12, norms)
	want := []float32{0.6, 0.8, 0, 0, 1e-8, 0}
	for i, w := range want {
		if math.Abs(float64(dst[i]-w)) > 1e-7 {
			t.Errorf("dst[%d] = %g, want %g", i, dst[i], w)
		}
	}
	if norms[0] != 5 || norms[1] != 0 || math.Abs(norms[2]-1e-20) > 1e-27 {
		t.Errorf("norms %v, want 5, 0, 1e-20 (unclamped)", norms[:3])
	}
	if !math.IsNaN(float64(dst[6])) || !math.IsNaN(float64(dst[7])) {
		t.Errorf("a row holding NaN gave %v, want NaN", dst[6:8])
	}
	if math.Abs(float64(dst[8])-1/math.Sqrt2) > 1e-7 {
		t.Errorf("dst[8] = %g", dst[8])
	}
	NormalizeRows(src, src, d, 1e-12, nil) // in place
	for i := 0; i < 6; i++ {
		if src[i] != dst[i] {
			t.Errorf("in place: [%d] %g vs %g", i, src[i], dst[i])
		}
	}
}
