package im2col

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestCol2imS2AsmBitIdentical runs the stride-2 Col2im path with the assembly on and off on the
// same column matrix and dst and requires the same bits everywhere: widths whose m = ⌊(W−1)/2⌋
// is below the assembly's minimum, in its four-wide range, exactly 8, between multiples of 8
// (the overlapping last group) and a multiple of 8; odd and even W and H; one and three channels;
// a row stride wider than one image's columns. Some values are ±0, so that the signs of zero
// sums are compared too; dst's element past the image must stay untouched.
func TestCol2imS2AsmBitIdentical(t *testing.T) {
	checkCol2imAsmBitIdentical(t, 2, []int{1, 2, 3, 4, 7, 8, 14},
		[]int{1, 2, 3, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 27, 28, 33, 34, 35, 36, 49, 50, 51})
}

// TestCol2imS1AsmBitIdentical is TestCol2imS2AsmBitIdentical for the stride-1 path, whose
// assembly takes the W−2 interior columns of a row: widths below its minimum (6), in its
// four-wide range (6 to 9, with 8 among them), exactly eight interior columns (10), between
// multiples of 8 and on them; one row (only the middle tap row), two (no interior rows) and more,
// odd and even.
func TestCol2imS1AsmBitIdentical(t *testing.T) {
	checkCol2imAsmBitIdentical(t, 1, []int{1, 2, 3, 4, 5, 7, 8, 14},
		[]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 16, 17, 18, 19, 25, 26, 27, 28, 32, 33, 34})
}

// checkCol2imAsmBitIdentical runs Col2im with the assembly on and off for 3×3, padding-1 windows
// of the given stride on every combination of heights hs, widths ws, one and three channels and
// a row stride equal to and wider than one image's columns, and requires the same bits.
func checkCol2imAsmBitIdentical(t *testing.T, stride int, hs, ws []int) {
	t.Helper()
	if !haveCol2imAsm {
		t.Skip("no AVX2")
	}
	defer func() { haveCol2imAsm = true }()
	rng := rand.New(rand.NewPCG(7, uint64(6+stride)))
	value := func() float32 {
		switch rng.IntN(16) {
		case 0:
			return 0
		case 1:
			return float32(math.Copysign(0, -1))
		}
		return float32(rng.NormFloat64())
	}
	for _, c := range []int{1, 3} {
		for _, h := range hs {
			for _, w := range ws {
				g := NewConvGeom("test", c, h, w, 3, 3, stride, 1)
				if p := col2imPath(g); p != stride {
					t.Fatalf("%+v: Col2im takes path %d, want the stride-%d fast path", g, p, stride)
				}
				for _, ld := range []int{g.Cols(), g.Cols() + 5} {
					src := make([]float32, g.Rows()*ld)
					for i := range src {
						src[i] = value()
					}
					want := make([]float32, g.C*g.H*g.W+1)
					for i := range want {
						want[i] = value()
					}
					want[len(want)-1] = 42
					got := append([]float32(nil), want...)
					haveCol2imAsm = false
					Col2im(g, src, ld, want[:len(want)-1])
					haveCol2imAsm = true
					Col2im(g, src, ld, got[:len(got)-1])
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							c, y, x := i/(g.H*g.W), i/g.W%g.H, i%g.W
							t.Fatalf("%+v ld=%d: dst[%d,%d,%d] = %v with the assembly, %v without",
								g, ld, c, y, x, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestCol2imWithoutAssembly runs the Col2im tests with the stride-1 and stride-2 assembly switched off, so that
// the Go loops other CPUs run are checked too.
func TestCol2imWithoutAssembly(t *testing.T) {
	if !haveCol2imAsm {
		t.Skip("no AVX2: the other tests check the Go loops")
	}
	defer func() { haveCol2imAsm = true }()
	haveCol2imAsm = false
	TestCol2im3x3MatchesGeneric(t)
	TestCol2imOtherGeometriesUseGeneric(t)
	TestIm2colDefinition(t)
}
