package winograd

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
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

// maxTorchBF16Ratio bounds --precision bf16: on every shape the AVX-512 path takes, each of y, dx
// and dw, max and RMS error against float64 at most this multiple of PyTorch's own bfloat16
// convolution's (autocast, NCHW) on the same inputs (testdata/torch_errors_bf16.json).
const maxTorchBF16Ratio = 2.0

// TestBF16AccuracyAgainstPyTorch is TestAccuracyAgainstPyTorch for the bfloat16 products.
func TestBF16AccuracyAgainstPyTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("float64 direct convolutions of every ResNet-18 shape take seconds")
	}
	if !gemm.HasBF16() || !Fast(16, 16) {
		t.Skip("no AVX512_BF16 or no AVX-512 path on this CPU")
	}
	raw, err := os.ReadFile("testdata/torch_errors_bf16.json")
	if err != nil {
		t.Fatal(err)
	}
	var te torchErrors
	if err := json.Unmarshal(raw, &te); err != nil {
		t.Fatal(err)
	}
	if err := gemm.SetBF16(true); err != nil {
		t.Fatal(err)
	}
	defer gemm.SetBF16(false)
	worst, shapes := 0.0, 0
	for _, c := range te.Shapes {
		s := Shape{N: c.N, Cin: c.Cin, Cout: c.Cout, H: c.Side, W: c.Side}
		if !Fast(s.Cin, s.Cout) {
			continue // the plain Go path: float32 whatever the precision
		}
		shapes++
		x, w, dy := hashInputs(s, c.Kind)
		if math.Abs(sum64(x)-c.RawSumX) > 1e-9*math.Max(1, math.Abs(c.RawSumX)) {
			t.Fatalf("%s: not PyTorch's inputs", c.Name)
		}
		refY, refDX, refDW := direct(s, x, w, dy)
		y := make([]float32, len(refY))
		Forward(s, x, w, nil, y)
		dx, dw := make([]float32, len(refDX)), make([]float32, len(refDW))
		InputGrad(s, dy, w, dx)
		WeightGrad(s, x, dy, dw)
		for _, out := range []struct {
			name string
			got  []float32
			ref  []float64
		}{{"y", y, refY}, {"dx", dx, refDX}, {"dw", dw, refDW}} {
			ours, pt := errorsOf(out.got, out.ref), c.NCHW[out.name]
			rMax, rRMS := ours.Max/pt.Max, ours.RMS/pt.RMS
			worst = math.Max(worst, math.Max(rMax, rRMS))
			t.Logf("%-16s %-2s: ours bf16 max %.2e rms %.2e | pytorch bf16 max %.2e rms %.2e | ratio %.2f %.2f",
				c.Name, out.name, ours.Max, ours.RMS, pt.Max, pt.RMS, rMax, rRMS)
			if rMax > maxTorchBF16Ratio || rRMS > maxTorchBF16Ratio {
				t.Errorf("%s %s: bf16 error max %.3g, rms %.3g is more than %g× PyTorch bf16's (%.3g, %.3g)",
					c.Name, out.name, ours.Max, ours.RMS, maxTorchBF16Ratio, pt.Max, pt.RMS)
			}
		}
	}
	if shapes < 8 {
		t.Fatalf("%d shapes on the AVX-512 path, want ResNet-18's 8", shapes)
	}
	t.Logf("worst ratio to PyTorch bf16 (%s): %.2f", te.Torch, worst)
}
