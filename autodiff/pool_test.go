package autodiff_test

import (
	"encoding/json"
	"math"
	"testing"

	ad "github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/gradcheck"
	"github.com/contrastive-go/contrastive/internal/testvec"
	"github.com/contrastive-go/contrastive/tensor"
)

func TestMaxPool2dMatchesPyTorch(t *testing.T) {
	for _, c := range opCases(t, "maxpool2d") {
		t.Run(c.name(), func(t *testing.T) {
			tp := ad.NewTape()
			x := tp.Variable(c.t32(t, "x"))
			out := ad.MaxPool2d(x, 2, 2)
			testvec.Close(t, "output", out.Data(), c.tensor(t, "output"), tol32)
			var arg []int
			if err := json.Unmarshal(c["argmax_flat_hw"], &arg); err != nil {
				t.Fatal(err)
			}
			// The gradient of a one-hot R at output o lands on argmax[o] alone.
			hw := x.Shape()[2] * x.Shape()[3]
			p := out.Shape()[2] * out.Shape()[3]
			backwardWithR(tp, out, c.t32(t, "R"))
			testvec.Close(t, "grad_x", x.Grad.Data, c.tensor(t, "grad_x"), tol32)
			for o, a := range arg {
				plane := o / p
				r := c.tensor(t, "R").Data[o]
				if got := x.Grad.Data[plane*hw+a]; r != 0 && got == 0 {
					t.Errorf("output %d: argmax %d got no gradient", o, a)
				}
			}
		})
	}
}

func TestGlobalAvgPoolMatchesPyTorch(t *testing.T) {
	for _, c := range opCases(t, "global_avg_pool") {
		t.Run(c.name(), func(t *testing.T) {
			tp := ad.NewTape()
			x := tp.Variable(c.t32(t, "x"))
			out := ad.GlobalAvgPool(x)
			testvec.Close(t, "output", out.Data(), c.tensor(t, "output"), tol32)
			backwardWithR(tp, out, c.t32(t, "R"))
			testvec.Close(t, "grad_x", x.Grad.Data, c.tensor(t, "grad_x"), tol32)
		})
	}
}

func TestReLUMatchesPyTorch(t *testing.T) {
	for _, c := range opCases(t, "relu") {
		t.Run(c.name(), func(t *testing.T) {
			tp := ad.NewTape()
			x := tp.Variable(c.t32(t, "x"))
			out := ad.ReLU(x)
			testvec.Close(t, "output", out.Data(), c.tensor(t, "output"), tol32)
			backwardWithR(tp, out, c.t32(t, "R"))
			testvec.Close(t, "grad_x", x.Grad.Data, c.tensor(t, "grad_x"), tol32)
		})
	}
}

func TestPoolingGradients(t *testing.T) {
	cases := []struct {
		name string
		f    gradcheck.Fn
		x    []int
	}{
		{"MaxPool2d_k2s2", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.MaxPool2d(in[0], 2, 2) }, []int{2, 3, 6, 6}},
		{"MaxPool2d_k3s2_odd", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.MaxPool2d(in[0], 3, 2) }, []int{1, 2, 7, 8}},
		{"MaxPool2d_k2s1_overlap", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.MaxPool2d(in[0], 2, 1) }, []int{2, 2, 4, 5}},
		{"MaxPool2d_k3s2p1_odd", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.MaxPool2dPadded(in[0], 3, 2, 1) }, []int{1, 2, 7, 6}},
		{"AvgPool2d_k2s2", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.AvgPool2d(in[0], 2, 2) }, []int{2, 3, 5, 6}},
		{"AvgPool2d_k3s1_overlap", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.AvgPool2d(in[0], 3, 1) }, []int{1, 2, 5, 5}},
		{"GlobalAvgPool", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.GlobalAvgPool(in[0]) }, []int{3, 4, 3, 5}},
		{"GlobalAvgPool_1x1", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.GlobalAvgPool(in[0]) }, []int{2, 3, 1, 1}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Eps well below the gaps between values keeps each window's maximum in place.
			gradcheck.Check(t, c.name, c.f, []*tensor.Tensor{gradcheck.Random(uint64(i+7), c.x...)},
				gradcheck.Options{Seed: uint64(i), Eps: 1e-3, Probes: 48})
		})
	}
}

func TestPoolingValues(t *testing.T) {
	// One 1x1x4x5 plane, values 0..19 row-major, with a tie in the first window.
	x := tensor.New(1, 1, 4, 5)
	for i := range x.Data {
		x.Data[i] = float32(i)
	}
	x.Data[0], x.Data[1], x.Data[5], x.Data[6] = 9, 9, 9, 9
	cases := []struct {
		name  string
		f     func(*ad.Var) *ad.Var
		shape []int
		want  []float32
		grad  []float32 // dS/dx for S = Σ out
	}{
		{"max k2s2 floor drops last column", func(v *ad.Var) *ad.Var { return ad.MaxPool2d(v, 2, 2) }, []int{1, 1, 2, 2},
			[]float32{9, 8, 16, 18}, []float32{1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0}},
		{"avg k2s2", func(v *ad.Var) *ad.Var { return ad.AvgPool2d(v, 2, 2) }, []int{1, 1, 2, 2},
			[]float32{9, 5, 13, 15}, []float32{.25, .25, .25, .25, 0, .25, .25, .25, .25, 0, .25, .25, .25, .25, 0, .25, .25, .25, .25, 0}},
		{"global avg", ad.GlobalAvgPool, []int{1, 1}, []float32{(190 - 0 - 1 - 5 - 6 + 36) / 20.0}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tp := ad.NewTape()
			v := tp.Variable(x.Clone())
			out := c.f(v)
			if !tensor.SameShape(out.Shape(), c.shape) || !equal(out.Data(), c.want) {
				t.Fatalf("got %v %v, want %v %v", out.Shape(), out.Data(), c.shape, c.want)
			}
			if c.grad != nil {
				tp.Backward(ad.SumAll(out))
				if !equal(v.Grad.Data, c.grad) {
					t.Errorf("grad %v, want %v", v.Grad.Data, c.grad)
				}
			}
		})
	}
}

// TestMaxPool2dPaddedMatchesLoops checks the padded max pool against a loop over −∞-padded
// windows (the first maximum in row-major order wins, a NaN wins), forward and backward, on
// sizes where the last windows overlap the border and where they do not, with ties and a NaN.
func TestMaxPool2dPaddedMatchesLoops(t *testing.T) {
	for _, c := range []struct{ h, w, k, s, p int }{{7, 6, 3, 2, 1}, {8, 8, 3, 2, 1}, {5, 9, 2, 1, 1}, {6, 5, 5, 3, 2}, {4, 4, 3, 1, 0}, {9, 11, 3, 2, 1}, {8, 7, 3, 1, 1}} {
		x := gradcheck.Random(3, 2, 3, c.h, c.w)
		x.Data[4] = x.Data[5] // a tie
		x.Data[c.w+1] = x.Data[1]
		x.Data[17] = float32(math.NaN())
		// Signed zeros tied for a window's maximum (the first wins, with its sign), and an
		// all-negative window around them.
		for i := 2 * c.w; i < 3*c.w && i < len(x.Data); i++ {
			x.Data[i] = -1 - float32(i%3)
		}
		x.Data[2*c.w+2], x.Data[2*c.w+3], x.Data[3*c.w+2] = float32(math.Copysign(0, -1)), 0, 0
		// The last plane all zeros of mixed signs (a dead ReLU): every window a tie.
		for i := 5 * c.h * c.w; i < 6*c.h*c.w; i++ {
			x.Data[i] = float32(math.Copysign(0, float64(i%3-1)))
		}
		tp := ad.NewTape()
		xv := tp.Variable(x)
		got := ad.MaxPool2dPadded(xv, c.k, c.s, c.p)
		r := gradcheck.Random(4, got.Shape()...)
		tp.Backward(ad.SumAll(ad.Mul(got, tp.Constant(r))))
		ho, wo := (c.h+2*c.p-c.k)/c.s+1, (c.w+2*c.p-c.k)/c.s+1
		if want := []int{2, 3, ho, wo}; !tensor.SameShape(got.Shape(), want) {
			t.Fatalf("%+v: shape %v, want %v", c, got.Shape(), want)
		}
		wantGrad := make([]float32, len(x.Data))
		for pl := 0; pl < 6; pl++ {
			for oy := 0; oy < ho; oy++ {
				for ox := 0; ox < wo; ox++ {
					best, bi := float32(math.Inf(-1)), -1
					for ky := 0; ky < c.k; ky++ {
						for kx := 0; kx < c.k; kx++ {
							iy, ix := oy*c.s-c.p+ky, ox*c.s-c.p+kx
							if iy < 0 || iy >= c.h || ix < 0 || ix >= c.w {
								continue
							}
							i := (pl*c.h+iy)*c.w + ix
							if v := x.Data[i]; bi < 0 || v > best || v != v {
								best, bi = v, i
							}
						}
					}
					o := (pl*ho+oy)*wo + ox
					if g := got.Data()[o]; math.Float32bits(g) != math.Float32bits(best) {
						t.Fatalf("%+v: out[%d] = %v, want %v", c, o, g, best)
					}
					wantGrad[bi] += r.Data[o]
				}
			}
		}
		for i, w := range wantGrad {
			if g := xv.Grad.Data[i]; math.Float32bits(g) != math.Float32bits(w) {
				t.Fatalf("%+v: grad[%d] = %v, want %v", c, i, g, w)
			}
		}
	}
}
