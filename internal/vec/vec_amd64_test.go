package vec

import "testing"

// TestGoLoops runs the checks with the assembly switched off, so that the Go loops, which other
// architectures and CPUs without AVX2 run on whole slices, are tested on whole slices too.
func TestGoLoops(t *testing.T) {
	defer func(v bool) { useAVX2 = v }(useAVX2)
	useAVX2 = false
	t.Run("reductions", TestReductionsMatchFloat64)
	t.Run("elementwise", TestElementwiseMatchFloat64)
	t.Run("mask", TestMaskMatchesAffineReLU)
	t.Run("nan", TestAffineReLUKeepsNaN)
	t.Run("addpositive", TestAddPositive)
}
