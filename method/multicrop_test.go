package method

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/loss"
	"github.com/contrastive-go/contrastive/tensor"
)

// withLocal adds l local views of 1×4×4 random pixels per image to b.
func withLocal(tp *autodiff.Tape, b Batch, l int, seed uint64) Batch {
	rng := rand.New(rand.NewPCG(seed, 13))
	x := tensor.New(l*b.N, 1, 4, 4)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	b.Local, b.L = tp.Constant(x), l
	return b
}

// multiCropMethods are the registered methods that use local views.
func multiCropMethods() []string {
	var out []string
	for _, n := range Names() {
		if f, _ := Lookup(n); f.MultiCrop {
			out = append(out, n)
		}
	}
	return out
}

func TestMultiCropMethodsUseTheLocalViews(t *testing.T) {
	names := multiCropMethods()
	if len(names) == 0 {
		t.Fatal("no method uses multi-crop")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			m := newMethod(t, name, 1)
			tp := autodiff.NewTape()
			plain := lossOf(m, randomBatch(tp, 8, 3))
			a := lossOf(m, withLocal(tp, randomBatch(tp, 8, 3), 3, 1))
			b := lossOf(m, withLocal(tp, randomBatch(tp, 8, 3), 3, 2))
			if !finite(a) || !finite(b) {
				t.Fatalf("losses %v, %v", a, b)
			}
			if a == plain || a == b {
				t.Errorf("the local views do not change the loss: %v without, %v and %v with two sets", plain, a, b)
			}
			// Every weight learns from a multi-crop batch.
			bt := withLocal(tp, randomBatch(tp, 8, 3), 2, 3)
			for _, p := range m.Params() {
				p.ZeroGrad()
			}
			tp.Backward(m.Loss(bt))
			for _, p := range m.Params() {
				if len(p.Shape()) >= 2 && allZero(p.Grad.Data) {
					t.Errorf("%s: zero gradient", p.Name)
				}
			}
			tp.Reset()
		})
	}
}

// With local views SimCLR is the multi-view NT-Xent: SupCon over all views with every image its
// own class.
func TestSimCLRWithLocalViewsIsMultiViewNTXent(t *testing.T) {
	m := newMethod(t, "simclr", 1).(*SimCLR)
	tp := autodiff.NewTape()
	b := withLocal(tp, randomBatch(tp, 8, 3), 2, 1)
	got := m.Loss(b).Item()
	zg, zl := m.model.Forward(b.X), m.model.Forward(b.Local)
	z := tensor.New(32, zg.Shape()[1])
	copy(z.Data, zg.Value.Data)
	copy(z.Data[len(zg.Value.Data):], zl.Value.Data)
	// Multi-view NT-Xent written out: anchor a's positives are the rows of the same image.
	u := z.Clone()
	d := z.Shape[1]
	for i := range 32 {
		normalizeRow(u.Data[i*d : (i+1)*d])
	}
	dot := func(a, c int) float64 {
		var s float64
		for k := range d {
			s += float64(u.Data[a*d+k]) * float64(u.Data[c*d+k])
		}
		return s
	}
	var want float64
	for a := range 32 {
		var den float64
		for c := range 32 {
			if c != a {
				den += math.Exp(dot(a, c) / 0.5)
			}
		}
		var l float64
		for c := a % 8; c < 32; c += 8 {
			if c != a {
				l -= dot(a, c)/0.5 - math.Log(den)
			}
		}
		want += l / 3 / 32
	}
	if math.Abs(float64(got)-want) > 1e-4*math.Max(1, math.Abs(want)) {
		t.Errorf("SimCLR with 2 local views: %v, multi-view NT-Xent %v", got, want)
	}
	if nt := loss.NTXent(zg, 0.5).Item(); nt == got {
		t.Error("the local views were ignored")
	}
	tp.Reset()
}
