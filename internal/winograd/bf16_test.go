package winograd

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/internal/gemm"
)

// TestBF16AgainstDirect runs the AVX-512 path with bfloat16 products (gemm.SetBF16) against
// the float64 definition: the errors must be those of bfloat16 operands — well above
// float32's (so the bfloat16 kernels did run) and within bf16Bound — on shapes with partial
// tiles, odd tile counts (an odd last weight-gradient block: a zero-padded pair) and blocks
// of one panel and of several.
func TestBF16AgainstDirect(t *testing.T) {
	if !gemm.HasBF16() || !Fast(16, 16) {
		t.Skip("no AVX512_BF16 or no AVX-512 path on this CPU")
	}
	defer func(bf, bt, gb int) { BlockFloats, MaxBlockTiles, GradBlockTiles = bf, bt, gb }(BlockFloats, MaxBlockTiles, GradBlockTiles)
	if err := gemm.SetBF16(true); err != nil {
		t.Fatal(err)
	}
	defer gemm.SetBF16(false)
	const bf16Bound = 1e-2 // max |error| / max |reference|
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range []Shape{
		{N: 3, Cin: 16, Cout: 32, H: 7, W: 5},
		{N: 2, Cin: 64, Cout: 48, H: 9, W: 9},
		{N: 5, Cin: 32, Cout: 16, H: 4, W: 4},
		{N: 1, Cin: 16, Cout: 16, H: 13, W: 11},
	} {
		x := randSlice(rng, s.N*s.Cin*s.H*s.W, 1)
		w := randSlice(rng, s.Cout*s.Cin*9, 1)
		dy := randSlice(rng, s.N*s.Cout*s.H*s.W, 1)
		wantY, wantDX, wantDW := direct(s, x, w, dy)
		for _, bt := range []int{48, 192} {
			MaxBlockTiles, GradBlockTiles = bt, bt+1 // odd weight-gradient blocks
			t.Run(fmt.Sprintf("%+v/block=%d", s, bt), func(t *testing.T) {
				y := make([]float32, len(wantY))
				Forward(s, x, w, nil, y)
				dx, dw := make([]float32, len(wantDX)), make([]float32, len(wantDW))
				InputGradSet(s, dy, w, dx)
				WeightGrad(s, x, dy, dw)
				for _, c := range []struct {
					name string
					got  []float32
					want []float64
				}{{"y", y, wantY}, {"dx", dx, wantDX}, {"dw", dw, wantDW}} {
					e := relErr(c.got, c.want)
					t.Logf("%s: relative error %.3g", c.name, e)
					if e > bf16Bound || e < 1e-5 {
						t.Errorf("%s: relative error %.3g, want bfloat16's (1e-5 … %g)", c.name, e, bf16Bound)
					}
				}
			})
		}
	}
}
