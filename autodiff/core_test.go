package autodiff_test

import (
	"runtime"
	"strings"
	"testing"

	ad "github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/gradcheck"
	"github.com/contrastive-go/contrastive/tensor"
)

func TestGradients(t *testing.T) {
	cases := []struct {
		name   string
		f      gradcheck.Fn
		inputs []*tensor.Tensor
	}{
		{"MatMul", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.MatMul(in[0], in[1], false, false) },
			[]*tensor.Tensor{gradcheck.Random(1, 3, 4), gradcheck.Random(2, 4, 5)}},
		{"MatMulTA", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.MatMul(in[0], in[1], true, false) },
			[]*tensor.Tensor{gradcheck.Random(1, 4, 3), gradcheck.Random(2, 4, 5)}},
		{"MatMulTB", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.MatMul(in[0], in[1], false, true) },
			[]*tensor.Tensor{gradcheck.Random(1, 3, 4), gradcheck.Random(2, 5, 4)}},
		{"MatMulTT", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.MatMul(in[0], in[1], true, true) },
			[]*tensor.Tensor{gradcheck.Random(1, 4, 3), gradcheck.Random(2, 5, 4)}},
		{"AddSame", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Add(in[0], in[1]) },
			[]*tensor.Tensor{gradcheck.Random(1, 3, 4), gradcheck.Random(2, 3, 4)}},
		{"SubSame", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Sub(in[0], in[1]) },
			[]*tensor.Tensor{gradcheck.Random(1, 3, 4), gradcheck.Random(2, 3, 4)}},
		{"MulSame", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Mul(in[0], in[1]) },
			[]*tensor.Tensor{gradcheck.Random(1, 3, 4), gradcheck.Random(2, 3, 4)}},
		{"AddRow", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Add(in[0], in[1]) },
			[]*tensor.Tensor{gradcheck.Random(1, 3, 4), gradcheck.Random(2, 4)}},
		{"SubColumn", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Sub(in[0], in[1]) },
			[]*tensor.Tensor{gradcheck.Random(1, 3, 4), gradcheck.Random(2, 3, 1)}},
		{"MulScalar", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Mul(in[0], in[1]) },
			[]*tensor.Tensor{gradcheck.Random(1, 2, 3, 4), gradcheck.Random(2, 1)}},
		{"MulOuter", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Mul(in[0], in[1]) },
			[]*tensor.Tensor{gradcheck.Random(1, 3, 1), gradcheck.Random(2, 1, 4)}},
		{"Div", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Div(in[0], ad.Add(ad.Mul(in[1], in[1]), in[2])) },
			[]*tensor.Tensor{gradcheck.Random(1, 3, 4), gradcheck.Random(2, 4), tensor.FromSlice([]float32{1}, 1)}},
		{"ReLU", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.ReLU(in[0]) },
			[]*tensor.Tensor{gradcheck.Random(3, 5, 7)}},
		{"ScaleMean", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.MeanAll(ad.Scale(in[0], 3)) },
			[]*tensor.Tensor{gradcheck.Random(3, 5, 7)}},
		{"UsedTwice", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Mul(in[0], in[0]) },
			[]*tensor.Tensor{gradcheck.Random(4, 6)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { gradcheck.Check(t, c.name, c.f, c.inputs, gradcheck.Options{}) })
	}
}

func TestConstantsAndDetachGetNoGradient(t *testing.T) {
	tp := ad.NewTape()
	w := ad.Param(tensor.FromSlice([]float32{2}, 1))
	x := tp.Constant(tensor.FromSlice([]float32{3}, 1))
	y := ad.Mul(w, x)
	loss := ad.Add(y, ad.Detach(ad.Mul(y, w)))
	tp.Backward(loss)
	if got := w.Grad.Data[0]; got != 3 {
		t.Errorf("dloss/dw = %v, want 3 (the detached y·w must contribute nothing)", got)
	}
	if x.Grad != nil {
		t.Errorf("constant received a gradient %v", x.Grad)
	}
	// Parameters accumulate until ZeroGrad, as in PyTorch.
	tp.Reset()
	tp.Backward(ad.Mul(w, tp.Constant(tensor.FromSlice([]float32{5}, 1))))
	if got := w.Grad.Data[0]; got != 8 {
		t.Errorf("accumulated gradient = %v, want 3+5", got)
	}
	w.ZeroGrad()
	if w.Grad.Data[0] != 0 {
		t.Error("ZeroGrad left a gradient")
	}
}

func TestShapeErrorsNameTheShapes(t *testing.T) {
	tp := ad.NewTape()
	a := tp.Constant(tensor.New(2, 3))
	b := tp.Constant(tensor.New(4, 5))
	for _, c := range []struct {
		name string
		f    func()
		want string
	}{
		{"MatMul", func() { ad.MatMul(a, b, false, false) }, "[2 3]"},
		{"Add", func() { ad.Add(a, b) }, "[4 5]"},
	} {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(r.(string), c.want) || !strings.Contains(r.(string), c.name) {
					t.Errorf("%s: panic %v, want a message naming %s and %s", c.name, r, c.name, c.want)
				}
			}()
			c.f()
		}()
	}
}

// TestResetReusesBuffers checks that the buffers a step's intermediates get (values, and
// gradients kept with KeepGrads) are the ones the previous step handed back with Reset. It looks
// at the tape's own buffers, so it holds under -race too.
func TestResetReusesBuffers(t *testing.T) {
	w := ad.Param(gradcheck.Random(1, 64, 64))
	tp := ad.NewTape()
	tp.KeepGrads = true
	x := tensor.New(256, 64)
	step := func() map[*float32]bool {
		mm := ad.MatMul(tp.Constant(x), w, false, false)
		r := ad.ReLU(mm)
		loss := ad.MeanAll(r)
		tp.Backward(loss)
		bufs := map[*float32]bool{}
		for _, v := range []*ad.Var{mm, r} {
			bufs[&v.Value.Data[0]] = true
			bufs[&v.Grad.Data[0]] = true
		}
		tp.Reset()
		return bufs
	}
	first := step()
	if len(first) != 4 {
		t.Fatalf("a step's two intermediates have %d distinct value and gradient buffers, want 4", len(first))
	}
	for i := 0; i < 5; i++ {
		for p := range step() {
			if !first[p] {
				t.Fatalf("step %d: an intermediate got a fresh buffer instead of one Reset handed back", i+2)
			}
		}
	}
}

// TestSteadyStateStepAllocatesLittle bounds what a step allocates once the tape's pool (and
// the GEMM's packing buffers) are warm.
func TestSteadyStateStepAllocatesLittle(t *testing.T) {
	if raceDetector {
		t.Skip("-race: the pure-Go GEMM (internal/gemm) keeps its packing buffers in a sync.Pool, which under -race drops a quarter of them at random on purpose, so every step reallocates some")
	}
	w := ad.Param(gradcheck.Random(1, 64, 64))
	tp := ad.NewTape()
	x := tensor.New(256, 64)
	step := func() {
		loss := ad.MeanAll(ad.ReLU(ad.MatMul(tp.Constant(x), w, false, false)))
		tp.Backward(loss)
		tp.Reset()
	}
	step()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const steps = 20
	for i := 0; i < steps; i++ {
		step()
	}
	runtime.ReadMemStats(&after)
	// One step's intermediates (values and gradients of [256,64] tensors) are 4 × 64 KiB; with the
	// pool a steady-state step allocates only small bookkeeping (Var nodes, closures).
	perStep := (after.TotalAlloc - before.TotalAlloc) / steps
	if perStep > 16<<10 {
		t.Errorf("a steady-state step allocates %d bytes; the pool should keep it far below one 64 KiB tensor", perStep)
	}
}
