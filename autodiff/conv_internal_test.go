package autodiff

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/internal/winograd"
	"github.com/contrastive-go/contrastive/tensor"
)

// naiveConv is the definition of Conv2d written as loops, with its gradients for S = Σ out·r.
func naiveConv(x, w, b, r *tensor.Tensor, stride, pad int) (out, gx, gw, gb []float64) {
	n, ci, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	co, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3]
	ho, wo := (h+2*pad-kh)/stride+1, (wd+2*pad-kw)/stride+1
	out = make([]float64, n*co*ho*wo)
	gx, gw, gb = make([]float64, len(x.Data)), make([]float64, len(w.Data)), make([]float64, co)
	for i := 0; i < n; i++ {
		for o := 0; o < co; o++ {
			for y := 0; y < ho; y++ {
				for xx := 0; xx < wo; xx++ {
					oi := ((i*co+o)*ho+y)*wo + xx
					s := float64(0)
					if b != nil {
						s = float64(b.Data[o])
					}
					rv := float64(r.Data[oi])
					gb[o] += rv
					for c := 0; c < ci; c++ {
						for ky := 0; ky < kh; ky++ {
							for kx := 0; kx < kw; kx++ {
								iy, ix := y*stride-pad+ky, xx*stride-pad+kx
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								xi := ((i*ci+c)*h+iy)*wd + ix
								wi := ((o*ci+c)*kh+ky)*kw + kx
								s += float64(w.Data[wi]) * float64(x.Data[xi])
								gx[xi] += float64(w.Data[wi]) * rv
								gw[wi] += float64(x.Data[xi]) * rv
							}
						}
					}
					out[oi] = s
				}
			}
		}
	}
	return
}

func randT(rng *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64())
	}
	return t
}

func maxDiff(got []float32, want []float64) (d, scale float64) {
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i])-want[i]))
		scale = math.Max(scale, math.Abs(want[i]))
	}
	return d, scale
}

// convTestDrivers are the driver settings the tests run: workers or phases, each with implicit and
// explicit im2col.
var convTestDrivers = []struct{ workers, implicit bool }{{true, true}, {true, false}, {false, true}, {false, false}}

// TestConvDriversAgree runs every driver (workers / phases, one image or many per chunk) against
// the loop definition, so that the chunk bookkeeping (gather, scatter, dW reduction) is covered.
func TestConvDriversAgree(t *testing.T) {
	defer func(name string) {
		if err := blas.Use(name); err != nil {
			t.Error(err)
		}
	}(blas.Default().Name())
	defer func(c int, w, im bool) { convChunkFloats, convWorkers, convImplicit = c, w, im }(convChunkFloats, convWorkers, convImplicit)
	shapes := []struct {
		x, w        []int
		stride, pad int
	}{
		{[]int{7, 3, 9, 8}, []int{5, 3, 3, 3}, 1, 1},
		{[]int{5, 4, 10, 11}, []int{6, 4, 3, 3}, 2, 1},
		{[]int{3, 2, 6, 6}, []int{3, 2, 1, 1}, 1, 0},
		{[]int{1, 3, 7, 9}, []int{4, 3, 3, 3}, 2, 0},   // batch 1, odd sizes, no padding
		{[]int{6, 1, 11, 10}, []int{5, 1, 3, 3}, 1, 1}, // Cin = 1 (the first layer)
		{[]int{4, 5, 6, 7}, []int{7, 5, 1, 1}, 2, 0},   // 1x1 kernel, stride 2
		{[]int{3, 4, 5, 5}, []int{3, 4, 3, 3}, 1, 1},
		{[]int{2, 3, 20, 18}, []int{8, 3, 7, 7}, 2, 3},  // the ImageNet stem (RGB: the fewest channels the implicit path takes)
		{[]int{2, 3, 13, 12}, []int{70, 3, 5, 3}, 2, 2}, // Cout past one 64-row panel, 5x3 kernel
		{[]int{3, 1, 16, 17}, []int{4, 1, 3, 3}, 1, 1},  // 272 positions: one-image chunks, explicit
		{[]int{2, 4, 18, 16}, []int{5, 4, 3, 3}, 1, 1},  // 288 positions: one-image chunks, implicit
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for si, s := range shapes {
		x, w, b := randT(rng, s.x...), randT(rng, s.w...), randT(rng, s.w[0])
		tp := NewTape()
		tp.NoGrad = true
		ref := Conv2d(tp.Constant(x), tp.Constant(w), nil, s.stride, s.pad)
		r := randT(rng, ref.Shape()...)
		wantOut, wantGX, wantGW, wantGB := naiveConv(x, w, b, r, s.stride, s.pad)
		for _, backend := range blas.Available() {
			for _, d := range convTestDrivers {
				for _, chunk := range []int{1, 200, 1 << 20} {
					t.Run(fmt.Sprintf("shape%d/%s/workers=%v/implicit=%v/chunk=%d", si, backend, d.workers, d.implicit, chunk), func(t *testing.T) {
						if err := blas.Use(backend); err != nil {
							t.Fatal(err)
						}
						convWorkers, convImplicit, convChunkFloats = d.workers, d.implicit, chunk
						tp := NewTape()
						xv, wv, bv := tp.Variable(x), Param(w), Param(b)
						out := Conv2d(xv, wv, bv, s.stride, s.pad)
						tp.Backward(SumAll(Mul(out, tp.Constant(r))))
						for _, c := range []struct {
							name string
							got  []float32
							want []float64
						}{{"out", out.Data(), wantOut}, {"grad_x", xv.Grad.Data, wantGX}, {"grad_w", wv.Grad.Data, wantGW}, {"grad_b", bv.Grad.Data, wantGB}} {
							if d, sc := maxDiff(c.got, c.want); d > 1e-5*math.Max(sc, 1) {
								t.Errorf("%s differs by %g (max |want| %g)", c.name, d, sc)
							}
						}
					})
				}
			}
		}
	}
}

// TestConvWeightGradIsDeterministic checks that dW is the same, bit for bit, whatever the number
// of workers: the chunks are accumulated in fixed groups, added in a fixed order.
func TestConvWeightGradIsDeterministic(t *testing.T) {
	defer func(c int, w, im bool) { convChunkFloats, convWorkers, convImplicit = c, w, im }(convChunkFloats, convWorkers, convImplicit)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	convChunkFloats, convWorkers, convImplicit = 200, true, true // one image per chunk: 24 chunks
	rng := rand.New(rand.NewPCG(11, 12))
	x, w := randT(rng, 24, 4, 9, 9), randT(rng, 6, 4, 3, 3)
	var first []float32
	for _, procs := range []int{1, 2, 3, 5} {
		runtime.GOMAXPROCS(procs)
		tp := NewTape()
		wv := Param(w)
		out := Conv2d(tp.Variable(x), wv, nil, 1, 1)
		tp.Backward(SumAll(Mul(out, out)))
		if first == nil {
			first = append([]float32(nil), wv.Grad.Data...)
			continue
		}
		for i, v := range wv.Grad.Data {
			if math.Float32bits(v) != math.Float32bits(first[i]) {
				t.Fatalf("GOMAXPROCS=%d: dW[%d] = %v, with 1 worker %v", procs, i, v, first[i])
			}
		}
	}
}

// TestConvWinogradAgrees runs Conv2d with Winograd forced on 3×3 stride-1 padding-1 shapes
// (odd sides: partial tiles; bias; x with and without a gradient) against the loop definition,
// and checks where the automatic choice takes it.
func TestConvWinogradAgrees(t *testing.T) {
	defer SetConvAlgorithm(SetConvAlgorithm(ConvWinograd))
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range [][2][]int{
		{{3, 4, 7, 9}, {5, 4, 3, 3}},
		{{2, 16, 6, 6}, {20, 16, 3, 3}},
		{{1, 1, 5, 4}, {3, 1, 3, 3}},
		{{3, 16, 7, 5}, {32, 16, 3, 3}}, // the AVX-512 path, where the CPU has it
	} {
		x, w, b := randT(rng, s[0]...), randT(rng, s[1]...), randT(rng, s[1][0])
		r := randT(rng, s[0][0], s[1][0], s[0][2], s[0][3])
		wantOut, wantGX, wantGW, wantGB := naiveConv(x, w, b, r, 1, 1)
		for _, gradX := range []bool{true, false} {
			tp := NewTape()
			xv := tp.Constant(x)
			if gradX {
				xv = tp.Variable(x)
			}
			wv, bv := Param(w), Param(b)
			out := Conv2d(xv, wv, bv, 1, 1)
			tp.Backward(SumAll(Mul(out, tp.Constant(r))))
			checks := []struct {
				name string
				got  []float32
				want []float64
			}{{"out", out.Data(), wantOut}, {"grad_w", wv.Grad.Data, wantGW}, {"grad_b", bv.Grad.Data, wantGB}}
			if gradX {
				checks = append(checks, struct {
					name string
					got  []float32
					want []float64
				}{"grad_x", xv.Grad.Data, wantGX})
			} else if xv.Grad != nil {
				t.Errorf("%v: x without gradient got one", s)
			}
			for _, c := range checks {
				if d, sc := maxDiff(c.got, c.want); d > 1e-5*math.Max(sc, 1) {
					t.Errorf("%v %s differs by %g (max |want| %g)", s, c.name, d, sc)
				}
			}
		}
	}
	SetConvAlgorithm(ConvAuto)
	if convEnvAlgo() != ConvAuto {
		return
	}
	fast := winograd.Fast(64, 64)
	for _, c := range []struct {
		cin, cout, hw, k, stride, pad int
		want                          bool
	}{{64, 64, 28, 3, 1, 1, fast}, {16, 16, 7, 3, 1, 1, fast}, {512, 512, 4, 3, 1, 1, fast}, {512, 512, 3, 3, 1, 1, fast}, {512, 512, 1, 3, 1, 1, false},
		{1, 32, 28, 3, 1, 1, false}, {64, 8, 28, 3, 1, 1, false}, {24, 64, 28, 3, 1, 1, false},
		{64, 64, 28, 3, 2, 1, false}, {64, 64, 28, 1, 1, 0, false}, {64, 64, 28, 3, 1, 0, false}, {64, 64, 28, 5, 1, 1, false}} {
		if got := useWinograd(c.cin, c.cout, c.hw, c.hw, c.k, c.k, c.stride, c.pad); got != c.want {
			t.Errorf("useWinograd(%+v) = %v", c, got)
		}
	}
}

func convEnvAlgo() ConvAlgorithm { a, _ := convEnv(); return a }
