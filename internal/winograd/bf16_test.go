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

// The weight gradient's pair-layout transforms (inputBlk16Lo/Hi, gradBlk16Lo/Hi) write exactly
// the words that gemm's conversions make of the float32 transforms' output, for an odd number
// of tiles (the last pair's high half zero) and partial windows.
func TestPairTransformsSameWords(t *testing.T) {
	if !gemm.HasBF16() || !Fast(16, 16) {
		t.Skip("no AVX512_BF16 or no AVX-512 path on this CPU")
	}
	const cin, cout, cnt = 32, 48, 5
	g := NewGeom(5, 6)
	hw := g.H * g.W
	rng := rand.New(rand.NewPCG(9, 10))
	x, dy := randSlice(rng, cin*hw, 1), randSlice(rng, cout*hw, 1)
	xb, dyb := make([]float32, len(x)), make([]float32, len(dy))
	blockChannels(x, hw, xb)
	blockChannels(dy, hw, dyb)
	kp := (cnt + 1) / 2
	v32, z32 := make([]float32, xis*cin*cnt), make([]float32, xis*cout*cnt)
	vb, zb := make([]uint32, xis*cin*kp), make([]uint32, xis*cout*kp)
	for i := range vb {
		vb[i] = 0xdeadbeef // stale words: every one must be written
	}
	for i := range zb {
		zb[i] = 0xdeadbeef
	}
	for tt := 0; tt < cnt; tt++ {
		r := (3 * tt) % g.Tiles() // tiles at edges and inside
		ty, tx := r/g.TW, r%g.TW
		var inM [xis]uint16
		var outM [4]uint16
		for i := 0; i < inTile; i++ {
			for j := 0; j < inTile; j++ {
				if y, xx := 2*ty-1+i, 2*tx-1+j; y >= 0 && y < g.H && xx >= 0 && xx < g.W {
					inM[4*i+j] = 0xffff
				}
			}
		}
		for i := 0; i < 2; i++ {
			for j := 0; j < 2; j++ {
				if 2*ty+i < g.H && 2*tx+j < g.W {
					outM[2*i+j] = 0xffff
				}
			}
		}
		inOff, outOff := (2*ty-1)*g.W+2*tx-1, 2*ty*g.W+2*tx
		inputBlk16(&xb[0], inOff, hw, g.W, cin/lanes, &inM[0], &v32[tt*cin], cnt*cin)
		gradBlk16(&dyb[0], outOff, hw, g.W, cout/lanes, &outM[0], &z32[tt*8], cout*cnt, cnt*8)
		if tt%2 == 0 {
			inputBlk16Lo(&xb[0], inOff, hw, g.W, cin/lanes, &inM[0], &vb[tt/2*cin], kp*cin)
			gradBlk16Lo(&dyb[0], outOff, hw, g.W, cout/lanes, &outM[0], &zb[tt/2*8], cout*kp, kp*8)
		} else {
			inputBlk16Hi(&xb[0], inOff, hw, g.W, cin/lanes, &inM[0], &vb[tt/2*cin], kp*cin)
			gradBlk16Hi(&dyb[0], outOff, hw, g.W, cout/lanes, &outM[0], &zb[tt/2*8], cout*kp, kp*8)
		}
	}
	wantV, wantZ := make([]uint32, len(vb)), make([]uint32, len(zb))
	for xi := 0; xi < xis; xi++ {
		gemm.PairRows(v32[xi*cin*cnt:], cin, cin, cnt, wantV[xi*cin*kp:], cin)
		for p := 0; p < cout/8; p++ {
			gemm.PairPanel(z32[xi*cout*cnt+p*8*cnt:], cnt, wantZ[xi*cout*kp+p*8*kp:])
		}
	}
	for i := range wantV {
		if vb[i] != wantV[i] {
			t.Fatalf("V word %d = %#08x, want %#08x", i, vb[i], wantV[i])
		}
	}
	for i := range wantZ {
		if zb[i] != wantZ[i] {
			t.Fatalf("Z word %d = %#08x, want %#08x", i, zb[i], wantZ[i])
		}
	}
}
