package autodiff_test

import (
	"testing"

	ad "github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/tensor"
)

func TestShapeGradients(t *testing.T) {
	runGradCases(t, []gradCase{
		{"ReshapeInferThenSum", func(tp *ad.Tape, in []*ad.Var) *ad.Var {
			return ad.Sum(ad.Reshape(in[0], -1, 4), 0, false)
		}, []*tensor.Tensor{rnd(1, 2, 3, 4)}},
		{"ReshapeUsedTwice", func(tp *ad.Tape, in []*ad.Var) *ad.Var {
			// x enters directly and through a view: both contributions must add up.
			return ad.Mul(ad.Reshape(ad.Square(ad.Reshape(in[0], 6)), 2, 3), in[0])
		}, []*tensor.Tensor{rnd(2, 2, 3)}},
		{"ReshapeOfIntermediate", func(tp *ad.Tape, in []*ad.Var) *ad.Var {
			return ad.Softmax(ad.Reshape(ad.Exp(in[0]), 3, -1))
		}, []*tensor.Tensor{rnd(3, 6, 2)}},
		{"Transpose", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Transpose(in[0]) },
			[]*tensor.Tensor{rnd(4, 3, 5)}},
		{"TransposeMatMul", func(tp *ad.Tape, in []*ad.Var) *ad.Var {
			return ad.MatMul(ad.Transpose(in[0]), in[0], false, false)
		}, []*tensor.Tensor{rnd(5, 4, 3)}},
		{"Permute3D", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Permute(in[0], 2, 0, 1) },
			[]*tensor.Tensor{rnd(6, 2, 3, 4)}},
		{"Permute4DNHWC", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Permute(in[0], 0, 2, 3, 1) },
			[]*tensor.Tensor{rnd(7, 2, 3, 2, 2)}},
		{"PermuteIdentity", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Permute(in[0], 0, 1) },
			[]*tensor.Tensor{rnd(8, 3, 2)}},
		{"Concat3Axis0", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Concat(0, in[0], in[1], in[2]) },
			[]*tensor.Tensor{rnd(9, 2, 3), rnd(10, 1, 3), rnd(11, 3, 3)}},
		{"Concat3Axis1", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Concat(1, in[0], in[1], in[2]) },
			[]*tensor.Tensor{rnd(12, 2, 3), rnd(13, 2, 1), rnd(14, 2, 4)}},
		{"ConcatAxisMinus2Middle", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Concat(-2, in[0], in[1]) },
			[]*tensor.Tensor{rnd(15, 2, 1, 3), rnd(16, 2, 2, 3)}},
		{"ConcatSameVarTwice", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Concat(0, in[0], in[1], in[0]) },
			[]*tensor.Tensor{rnd(17, 2, 2), rnd(18, 1, 2)}},
		{"SliceAxis0", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Slice(in[0], 0, 1, 3) },
			[]*tensor.Tensor{rnd(19, 4, 3)}},
		{"SliceAxisMinus1", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Slice(in[0], -1, 2, 4) },
			[]*tensor.Tensor{rnd(20, 2, 3, 5)}},
		{"SliceMiddleFull", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Slice(in[0], 1, 0, 3) },
			[]*tensor.Tensor{rnd(21, 2, 3, 2)}},
		{"SlicesRejoined", func(tp *ad.Tape, in []*ad.Var) *ad.Var {
			return ad.Concat(0, ad.Slice(in[0], 0, 2, 4), ad.Slice(in[0], 0, 0, 3))
		}, []*tensor.Tensor{rnd(22, 4, 2)}},
	})
}

func TestShapeValues(t *testing.T) {
	tp := ad.NewTape()
	seq := func(shape ...int) *ad.Var {
		x := tensor.New(shape...)
		for i := range x.Data {
			x.Data[i] = float32(i)
		}
		return tp.Constant(x)
	}
	cases := []struct {
		name      string
		y         *ad.Var
		wantShape []int
		want      []float32
	}{
		{"ReshapeInfer", ad.Reshape(seq(2, 3), 3, -1), []int{3, 2}, []float32{0, 1, 2, 3, 4, 5}},
		{"Transpose", ad.Transpose(seq(2, 3)), []int{3, 2}, []float32{0, 3, 1, 4, 2, 5}},
		{"Permute120", ad.Permute(seq(2, 1, 3), 1, 2, 0), []int{1, 3, 2}, []float32{0, 3, 1, 4, 2, 5}},
		{"Concat0", ad.Concat(0, seq(1, 2), seq(2, 2)), []int{3, 2}, []float32{0, 1, 0, 1, 2, 3}},
		{"Concat1", ad.Concat(1, seq(2, 1), seq(2, 2), seq(2, 1)), []int{2, 4}, []float32{0, 0, 1, 0, 1, 2, 3, 1}},
		{"Slice1", ad.Slice(seq(2, 4), 1, 1, 3), []int{2, 2}, []float32{1, 2, 5, 6}},
		{"SliceEmpty", ad.Slice(seq(2, 4), 1, 2, 2), []int{2, 0}, []float32{}},
	}
	for _, c := range cases {
		if !tensor.SameShape(c.y.Shape(), c.wantShape) {
			t.Errorf("%s: shape %v, want %v", c.name, c.y.Shape(), c.wantShape)
			continue
		}
		closeSlices(t, c.name, c.y.Data(), c.want, 0)
	}
}

func TestReshapeIsAViewWithItsOwnGradient(t *testing.T) {
	tp := ad.NewTape()
	x := tp.Variable(tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3))
	r := ad.Reshape(x, 3, 2)
	if &r.Data()[0] != &x.Data()[0] {
		t.Error("Reshape copied the data; it should share it")
	}
	// loss = Σ r·c + Σ x: dx = c (reshaped back) + 1.
	c := tp.Constant(tensor.FromSlice([]float32{10, 20, 30, 40, 50, 60}, 3, 2))
	tp.Backward(ad.Add(ad.SumAll(ad.Mul(r, c)), ad.SumAll(x)))
	closeSlices(t, "dx", x.Grad.Data, []float32{11, 21, 31, 41, 51, 61}, 0)
}

func TestPermuteLargeRoundTrip(t *testing.T) {
	tp := ad.NewTape()
	x := rnd(30, 8, 16, 24, 12) // 36k elements: the parallel path
	v := tp.Variable(x.Clone())
	y := ad.Permute(ad.Permute(v, 0, 2, 3, 1), 0, 3, 1, 2)
	closeSlices(t, "round trip", y.Data(), x.Data, 0)
	w := rnd(31, 8, 16, 24, 12)
	tp.Backward(ad.SumAll(ad.Mul(y, tp.Constant(w))))
	closeSlices(t, "grad", v.Grad.Data, w.Data, 0)
}

func TestShapePanics(t *testing.T) {
	tp := ad.NewTape()
	x := tp.Constant(tensor.New(2, 3))
	expectPanic(t, "Reshape", func() { ad.Reshape(x, 4, -1) }, "Reshape", "[2 3]", "[4 -1]")
	expectPanic(t, "Transpose3D", func() { ad.Transpose(tp.Constant(tensor.New(2, 3, 4))) }, "Transpose", "[2 3 4]")
	expectPanic(t, "PermuteRepeat", func() { ad.Permute(x, 0, 0) }, "Permute", "[0 0]", "[2 3]")
	expectPanic(t, "PermuteRank", func() { ad.Permute(x, 0, 1, 2) }, "Permute", "[2 3]")
	expectPanic(t, "ConcatMismatch", func() { ad.Concat(0, x, tp.Constant(tensor.New(2, 4))) }, "Concat", "[2 3]", "[2 4]")
	expectPanic(t, "ConcatRank", func() { ad.Concat(0, x, tp.Constant(tensor.New(6))) }, "Concat", "[2 3]", "[6]")
	expectPanic(t, "ConcatNone", func() { ad.Concat(0) }, "Concat")
	expectPanic(t, "ConcatAxis", func() { ad.Concat(2, x, x) }, "Concat", "[2 3]")
	expectPanic(t, "SliceEnd", func() { ad.Slice(x, 1, 1, 4) }, "Slice", "[2 3]")
	expectPanic(t, "SliceBackwards", func() { ad.Slice(x, 0, 2, 1) }, "Slice", "[2 3]")
	expectPanic(t, "SliceAxis", func() { ad.Slice(x, 2, 0, 1) }, "Slice", "[2 3]")
}
