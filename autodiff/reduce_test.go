package autodiff_test

import (
	"math"
	"strings"
	"testing"

	ad "github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/gradcheck"
	"github.com/contrastive-go/contrastive/tensor"
)

// gradCase is one finite-difference gradient check of an op.
type gradCase struct {
	name   string
	f      gradcheck.Fn
	inputs []*tensor.Tensor
}

func runGradCases(t *testing.T, cases []gradCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { gradcheck.Check(t, c.name, c.f, c.inputs, gradcheck.Options{}) })
	}
}

// rnd is shorthand for a standard normal tensor.
func rnd(seed uint64, shape ...int) *tensor.Tensor { return gradcheck.Random(seed, shape...) }

// positive returns |N(0,1)| + 0.5 entries, safe for Log and Sqrt with the checker's step.
func positive(seed uint64, shape ...int) *tensor.Tensor {
	t := gradcheck.Random(seed, shape...)
	for i, v := range t.Data {
		t.Data[i] = float32(math.Abs(float64(v))) + 0.5
	}
	return t
}

// expectPanic runs f and checks it panics with a message containing every want.
func expectPanic(t *testing.T, name string, f func(), want ...string) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		msg, _ := r.(string)
		if r == nil {
			t.Errorf("%s: no panic", name)
			return
		}
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: panic %q does not mention %q", name, msg, w)
			}
		}
	}()
	f()
}

func closeSlices(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= tol*math.Max(1, math.Abs(float64(want[i])))) {
			t.Fatalf("%s[%d] = %g, want %g", name, i, got[i], want[i])
		}
	}
}

func TestReduceGradients(t *testing.T) {
	sum := func(axis int, keep bool) gradcheck.Fn {
		return func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Sum(in[0], axis, keep) }
	}
	mean := func(axis int, keep bool) gradcheck.Fn {
		return func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Mean(in[0], axis, keep) }
	}
	runGradCases(t, []gradCase{
		{"Sum2DAxis0", sum(0, false), []*tensor.Tensor{rnd(1, 3, 4)}},
		{"Sum2DAxis1Keep", sum(1, true), []*tensor.Tensor{rnd(2, 3, 4)}},
		{"SumAxisMinus1", sum(-1, false), []*tensor.Tensor{rnd(3, 2, 3, 4)}},
		{"Sum3DMiddleKeep", sum(1, true), []*tensor.Tensor{rnd(4, 2, 3, 4)}},
		{"Sum3DMiddle", sum(-2, false), []*tensor.Tensor{rnd(5, 2, 3, 4)}},
		{"Sum1D", sum(0, false), []*tensor.Tensor{rnd(6, 7)}},
		{"SumSize1Axis", sum(1, false), []*tensor.Tensor{rnd(7, 3, 1, 2)}},
		{"SumSize1Others", sum(1, true), []*tensor.Tensor{rnd(8, 1, 5, 1)}},
		{"Mean2DAxis0Keep", mean(0, true), []*tensor.Tensor{rnd(9, 3, 4)}},
		{"MeanAxisMinus1", mean(-1, false), []*tensor.Tensor{rnd(10, 3, 4)}},
		{"Mean4DAxis2", mean(2, false), []*tensor.Tensor{rnd(11, 2, 2, 3, 2)}},
		{"SumThenMeanUsedTwice", func(tp *ad.Tape, in []*ad.Var) *ad.Var {
			return ad.Mul(ad.Sum(in[0], 0, true), ad.Mean(in[0], 1, true)) // [1,4]·[3,1] → [3,4]
		}, []*tensor.Tensor{rnd(12, 3, 4)}},
	})
}

func TestReduceValues(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6} // [2,3]
	cases := []struct {
		name      string
		mean      bool
		axis      int
		keep      bool
		wantShape []int
		want      []float32
	}{
		{"SumAxis0", false, 0, false, []int{3}, []float32{5, 7, 9}},
		{"SumAxis1Keep", false, 1, true, []int{2, 1}, []float32{6, 15}},
		{"SumAxisMinus1", false, -1, false, []int{2}, []float32{6, 15}},
		{"SumAxisMinus2Keep", false, -2, true, []int{1, 3}, []float32{5, 7, 9}},
		{"MeanAxis0", true, 0, false, []int{3}, []float32{2.5, 3.5, 4.5}},
		{"MeanAxis1", true, 1, false, []int{2}, []float32{2, 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tp := ad.NewTape()
			in := tp.Constant(tensor.FromSlice(append([]float32(nil), x...), 2, 3))
			var y *ad.Var
			if c.mean {
				y = ad.Mean(in, c.axis, c.keep)
			} else {
				y = ad.Sum(in, c.axis, c.keep)
			}
			if !tensor.SameShape(y.Shape(), c.wantShape) {
				t.Fatalf("shape %v, want %v", y.Shape(), c.wantShape)
			}
			closeSlices(t, c.name, y.Data(), c.want, 0)
		})
	}
	// Reducing the only axis of a 1-D tensor gives [1].
	tp := ad.NewTape()
	if s := ad.Sum(tp.Constant(tensor.New(5)), 0, false).Shape(); !tensor.SameShape(s, []int{1}) {
		t.Errorf("Sum of a 1-D tensor has shape %v, want [1]", s)
	}
}

// TestReduceLargeMatchesNaive exercises the parallel paths (inputs well above one grain) against
// float64 loops, forward and backward.
func TestReduceLargeMatchesNaive(t *testing.T) {
	const a, b, c = 37, 41, 53 // 80k elements
	x := rnd(20, a, b, c)
	for _, axis := range []int{0, 1, 2} {
		tp := ad.NewTape()
		v := tp.Variable(x.Clone())
		y := ad.Mean(v, axis, false)
		outer, n, inner := 1, x.Shape[axis], 1
		for i := 0; i < axis; i++ {
			outer *= x.Shape[i]
		}
		for i := axis + 1; i < 3; i++ {
			inner *= x.Shape[i]
		}
		want := make([]float32, outer*inner)
		for o := 0; o < outer; o++ {
			for k := 0; k < inner; k++ {
				var s float64
				for j := 0; j < n; j++ {
					s += float64(x.Data[(o*n+j)*inner+k])
				}
				want[o*inner+k] = float32(s / float64(n))
			}
		}
		closeSlices(t, "Mean large", y.Data(), want, 1e-6)
		tp.Backward(ad.SumAll(y))
		for i, g := range v.Grad.Data {
			if g != 1/float32(n) {
				t.Fatalf("axis %d: grad[%d] = %g, want 1/%d", axis, i, g, n)
			}
		}
	}
}

func TestReducePanics(t *testing.T) {
	tp := ad.NewTape()
	x := tp.Constant(tensor.New(2, 3))
	expectPanic(t, "Sum axis 2", func() { ad.Sum(x, 2, false) }, "Sum", "[2 3]")
	expectPanic(t, "Mean axis -3", func() { ad.Mean(x, -3, true) }, "Mean", "[2 3]")
	expectPanic(t, "Mean empty", func() { ad.Mean(tp.Constant(tensor.New(2, 0)), 1, false) }, "Mean", "[2 0]")
}
