package autodiff

import (
	"math"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/internal/gemm"
)

// TestBF16Note checks the line commands print beside bf16: a warning naming the measured ratio
// below 1, the plain ratio from 1 on.
func TestBF16Note(t *testing.T) {
	if n := BF16Note(0.58); !strings.HasPrefix(n, "warning:") || !strings.Contains(n, "0.58x") || !strings.Contains(n, "slower") {
		t.Errorf("BF16Note(0.58) = %q, want a warning naming 0.58x and slower steps", n)
	}
	if n := BF16Note(1.9); strings.Contains(n, "warning") || !strings.Contains(n, "1.90x") {
		t.Errorf("BF16Note(1.9) = %q, want the ratio without a warning", n)
	}
}

// TestBF16SpeedupMeasured checks that the ratio is measured where bf16 runs (positive and
// finite) and 0 elsewhere.
func TestBF16SpeedupMeasured(t *testing.T) {
	s := BF16Speedup()
	if !gemm.HasBF16() {
		if s != 0 {
			t.Fatalf("BF16Speedup() = %v without AVX512_BF16, want 0", s)
		}
		return
	}
	if !(s > 0) || math.IsInf(s, 0) {
		t.Fatalf("BF16Speedup() = %v, want a positive finite ratio", s)
	}
	t.Logf("bf16 products: %.2fx the float32 ones' speed", s)
}
