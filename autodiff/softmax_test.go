package autodiff_test

import (
	"math"
	"testing"

	ad "github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/gradcheck"
	"github.com/contrastive-go/contrastive/internal/testvec"
	"github.com/contrastive-go/contrastive/tensor"
)

// generalOpVectors holds the sections of testdata/ops.json that this file and normalize_test.go check.
type generalOpVectors struct {
	LogSoftmax struct {
		Cases []struct {
			Name              string
			Logits, R, Output testvec.Tensor
			GradLogits        testvec.Tensor `json:"grad_logits"`
		} `json:"cases"`
	} `json:"log_softmax"`
	CrossEntropy struct {
		Cases []struct {
			Name       string
			Logits     testvec.Tensor
			Labels     []int
			Loss       float64
			GradLogits testvec.Tensor `json:"grad_logits"`
		} `json:"cases"`
	} `json:"cross_entropy"`
	L2Normalize struct {
		Cases []struct {
			Name         string
			X, R, Output testvec.Tensor
			GradX        testvec.Tensor `json:"grad_x"`
		} `json:"cases"`
	} `json:"l2_normalize"`
}

func loadGeneralOpVectors(t *testing.T) generalOpVectors {
	var v generalOpVectors
	testvec.Load(t, "testdata/ops.json", &v)
	return v
}

// vecConst enters a reference tensor as a float32 tensor.
func vecTensor(v testvec.Tensor) *tensor.Tensor { return tensor.FromSlice(v.F32(), v.Shape...) }

func TestLogSoftmaxMatchesPyTorch(t *testing.T) {
	vecs := loadGeneralOpVectors(t).LogSoftmax.Cases
	if len(vecs) == 0 {
		t.Fatal("no log_softmax cases in testdata/ops.json")
	}
	for _, c := range vecs {
		t.Run(c.Name, func(t *testing.T) {
			tp := ad.NewTape()
			z := tp.Variable(vecTensor(c.Logits))
			y := ad.LogSoftmax(z)
			testvec.Close(t, "output", y.Data(), c.Output, 1e-4)
			tp.Backward(ad.SumAll(ad.Mul(y, tp.Constant(vecTensor(c.R)))))
			testvec.Close(t, "grad_logits", z.Grad.Data, c.GradLogits, 1e-4)
		})
	}
}

func TestCrossEntropyMatchesPyTorch(t *testing.T) {
	vecs := loadGeneralOpVectors(t).CrossEntropy.Cases
	if len(vecs) == 0 {
		t.Fatal("no cross_entropy cases in testdata/ops.json")
	}
	for _, c := range vecs {
		t.Run(c.Name, func(t *testing.T) {
			tp := ad.NewTape()
			z := tp.Variable(vecTensor(c.Logits))
			loss := ad.CrossEntropy(z, c.Labels)
			testvec.CloseScalar(t, "loss", float64(loss.Item()), c.Loss, 1e-4)
			tp.Backward(loss)
			testvec.Close(t, "grad_logits", z.Grad.Data, c.GradLogits, 1e-4)
		})
	}
}

func TestSoftmaxGradients(t *testing.T) {
	lse := func(axis int, keep bool) gradcheck.Fn {
		return func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.LogSumExp(in[0], axis, keep) }
	}
	runGradCases(t, []gradCase{
		{"LogSoftmax", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.LogSoftmax(in[0]) },
			[]*tensor.Tensor{rnd(1, 4, 5)}},
		{"LogSoftmaxOneClass", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.LogSoftmax(in[0]) },
			[]*tensor.Tensor{rnd(2, 3, 1)}},
		{"LogSoftmax3D", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.LogSoftmax(in[0]) },
			[]*tensor.Tensor{rnd(3, 2, 3, 4)}},
		{"Softmax", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Softmax(in[0]) },
			[]*tensor.Tensor{rnd(4, 3, 6)}},
		{"SoftmaxOneRow", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Softmax(in[0]) },
			[]*tensor.Tensor{rnd(5, 1, 4)}},
		{"SoftmaxTimesInputUsedTwice", func(tp *ad.Tape, in []*ad.Var) *ad.Var {
			return ad.Mul(ad.Softmax(in[0]), in[0])
		}, []*tensor.Tensor{rnd(6, 3, 4)}},
		{"LogSumExpAxisMinus1", lse(-1, false), []*tensor.Tensor{rnd(7, 3, 5)}},
		{"LogSumExpAxis0Keep", lse(0, true), []*tensor.Tensor{rnd(8, 3, 5)}},
		{"LogSumExp3DMiddle", lse(1, false), []*tensor.Tensor{rnd(9, 2, 3, 4)}},
		{"LogSumExp3DMiddleKeep", lse(-2, true), []*tensor.Tensor{rnd(10, 2, 3, 4)}},
		{"LogSumExpSize1Axis", lse(1, false), []*tensor.Tensor{rnd(11, 4, 1)}},
		{"LogSumExp1D", lse(0, false), []*tensor.Tensor{rnd(12, 6)}},
		{"CrossEntropy", func(tp *ad.Tape, in []*ad.Var) *ad.Var {
			return ad.CrossEntropy(in[0], []int{0, 3, 2, 3, 1})
		}, []*tensor.Tensor{rnd(13, 5, 4)}},
		{"CrossEntropyOfReshape", func(tp *ad.Tape, in []*ad.Var) *ad.Var {
			return ad.CrossEntropy(ad.Reshape(in[0], 2, -1), []int{5, 0})
		}, []*tensor.Tensor{rnd(14, 2, 2, 3)}},
	})
}

func TestLogSumExpStableAndConsistent(t *testing.T) {
	cases := []struct {
		name string
		x    []float32
		want float64
	}{
		{"Large", []float32{1000, 1000, 999}, 1000 + math.Log(2+math.Exp(-1))},
		{"VeryNegative", []float32{-1000, -1001}, -1000 + math.Log(1+math.Exp(-1))},
		{"One", []float32{3}, 3},
		{"WithMinusInf", []float32{float32(math.Inf(-1)), 0}, 0},
	}
	for _, c := range cases {
		tp := ad.NewTape()
		x := tp.Variable(tensor.FromSlice(append([]float32(nil), c.x...), 1, len(c.x)))
		y := ad.LogSumExp(x, -1, false)
		if got := float64(y.Item()); math.Abs(got-c.want) > 1e-4*math.Max(1, math.Abs(c.want)) {
			t.Errorf("%s: LogSumExp = %v, want %v", c.name, got, c.want)
		}
		tp.Backward(y)
		var s float64
		for _, g := range x.Grad.Data {
			if math.IsNaN(float64(g)) {
				t.Errorf("%s: NaN gradient %v", c.name, x.Grad.Data)
			}
			s += float64(g)
		}
		if math.Abs(s-1) > 1e-5 {
			t.Errorf("%s: gradient (a softmax) sums to %v, want 1", c.name, s)
		}
	}
	// On a strided axis it must agree with LogSoftmax's normaliser on the transposed input.
	tp := ad.NewTape()
	x := tp.Constant(rnd(40, 300, 70)) // 21k elements: the parallel path
	a := ad.LogSumExp(x, 0, false)
	b := ad.Sub(ad.Transpose(x), ad.LogSoftmax(ad.Transpose(x))) // every column equals its lse
	for j := 0; j < 70; j++ {
		if d := math.Abs(float64(a.Data()[j] - b.Data()[j*300])); d > 1e-4 {
			t.Fatalf("column %d: LogSumExp %v, via LogSoftmax %v", j, a.Data()[j], b.Data()[j*300])
		}
	}
}

func TestSoftmaxRowsSumToOne(t *testing.T) {
	tp := ad.NewTape()
	y := ad.Softmax(tp.Constant(tensor.FromSlice([]float32{1000, -1000, 0, 1, 2, 3}, 2, 3)))
	for r := 0; r < 2; r++ {
		var s float64
		for _, v := range y.Data()[r*3 : r*3+3] {
			s += float64(v)
		}
		if math.Abs(s-1) > 1e-6 {
			t.Errorf("row %d sums to %v", r, s)
		}
	}
	if y.Data()[0] != 1 {
		t.Errorf("softmax of a dominant logit = %v, want 1", y.Data()[0])
	}
}

func TestCrossEntropyDependsOnInput(t *testing.T) {
	// Guard against the constant "loss" of the seed text: different logits, different losses.
	tp := ad.NewTape()
	a := ad.CrossEntropy(tp.Constant(rnd(50, 4, 3)), []int{0, 1, 2, 0}).Item()
	b := ad.CrossEntropy(tp.Constant(rnd(51, 4, 3)), []int{0, 1, 2, 0}).Item()
	if a == b || a <= 0 {
		t.Errorf("losses %v and %v: must be positive and differ", a, b)
	}
	// Uniform logits: loss = log C.
	u := ad.CrossEntropy(tp.Constant(tensor.New(2, 5)), []int{1, 4}).Item()
	if math.Abs(float64(u)-math.Log(5)) > 1e-6 {
		t.Errorf("uniform logits: loss %v, want log 5", u)
	}
}

func TestSoftmaxPanics(t *testing.T) {
	tp := ad.NewTape()
	z := tp.Constant(tensor.New(2, 3))
	expectPanic(t, "label high", func() { ad.CrossEntropy(z, []int{0, 3}) }, "CrossEntropy", "label 3", "[2 3]")
	expectPanic(t, "label negative", func() { ad.CrossEntropy(z, []int{-1, 0}) }, "CrossEntropy", "label -1")
	expectPanic(t, "label count", func() { ad.CrossEntropy(z, []int{0}) }, "CrossEntropy", "[2 3]")
	expectPanic(t, "CE 3-D", func() { ad.CrossEntropy(tp.Constant(tensor.New(2, 3, 1)), []int{0, 0}) }, "CrossEntropy", "[2 3 1]")
	expectPanic(t, "LogSoftmax empty", func() { ad.LogSoftmax(tp.Constant(tensor.New(2, 0))) }, "LogSoftmax", "[2 0]")
	expectPanic(t, "LogSumExp axis", func() { ad.LogSumExp(z, 2, false) }, "LogSumExp", "[2 3]")
}
