package method

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/loss"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/optim"
	"github.com/contrastive-go/contrastive/tensor"
)

// allMethods are the methods these tests cover.
var allMethods = []string{"barlow-twins", "byol", "dcl", "dclw", "dino", "moco-v2", "moco-v3", "nnclr", "simclr", "simsiam", "supcon", "swav", "vicreg"}

func TestRegistry(t *testing.T) {
	names := Names()
	for _, n := range allMethods {
		if !slices.Contains(names, n) {
			t.Errorf("%s is not registered (have %v)", n, names)
		}
	}
	for _, tc := range []struct {
		name                 string
		labels, addPredictor bool
	}{
		{"supcon", true, false}, {"simclr", false, false}, {"moco-v2", false, false}, {"barlow-twins", false, false},
		{"vicreg", false, false}, {"dcl", false, false}, {"dclw", false, false}, {"byol", false, true}, {"simsiam", false, true}, {"moco-v3", false, true}, {"nnclr", false, true},
		{"swav", false, false}, {"dino", false, false},
	} {
		f, _ := Lookup(tc.name)
		if f.NeedsLabels != tc.labels {
			t.Errorf("%s: NeedsLabels %v, want %v", tc.name, f.NeedsLabels, tc.labels)
		}
		if f.Views != 2 {
			t.Errorf("%s: Views %d, want 2", tc.name, f.Views)
		}
		cfg := tinyConfig()
		if f.Adjust != nil {
			f.Adjust(&cfg)
		}
		if got := cfg.Predictor != nil; got != tc.addPredictor {
			t.Errorf("%s: Adjust adds a predictor: %v, want %v", tc.name, got, tc.addPredictor)
		}
	}
	// An existing predictor is kept.
	f, _ := Lookup("byol")
	cfg := tinyConfig()
	cfg.Predictor = &models.HeadConfig{Kind: models.HeadLinear}
	f.Adjust(&cfg)
	if cfg.Predictor.Kind != models.HeadLinear {
		t.Errorf("Adjust replaced the configured predictor: %+v", cfg.Predictor)
	}
}

func TestLossIsFiniteAndTrainsEveryWeight(t *testing.T) {
	for _, name := range allMethods {
		t.Run(name, func(t *testing.T) {
			m := newMethod(t, name, 1)
			tp := autodiff.NewTape()
			b := randomBatch(tp, 8, 3)
			params := m.Params()
			if own := m.Model().Params(); len(params) < len(own) || !slices.Equal(params[:len(own)], own) {
				t.Fatalf("Params: %d, not led by the online model's %d", len(params), len(own))
			}
			before := snapshot(params)
			opt := optim.NewAdam(params, optim.AdamConfig{LR: 1e-2})
			opt.ZeroGrad()
			l := m.Loss(b)
			if s := l.Shape(); tensor.Numel(s) != 1 {
				t.Fatalf("loss shape %v", s)
			}
			if !finite(l.Item()) {
				t.Fatalf("loss %v", l.Item())
			}
			tp.Backward(l)
			var norm float64
			for _, p := range params {
				for _, g := range p.Grad.Data {
					if !finite(g) {
						t.Fatalf("%s: non-finite gradient", p.Name)
					}
					norm += float64(g) * float64(g)
				}
				// Weights (not biases: Barlow Twins and VICReg standardise z, so the last bias
				// gets no gradient) must all learn.
				if len(p.Shape()) >= 2 && allZero(p.Grad.Data) {
					t.Errorf("%s: zero gradient", p.Name)
				}
			}
			if norm == 0 {
				t.Fatal("all gradients are zero")
			}
			opt.Step()
			m.AfterStep(0.1)
			tp.Reset()
			changed := 0
			for i, p := range params {
				if !slices.Equal(before[i], p.Value.Data) {
					changed++
				}
			}
			if changed < len(params)*3/4 {
				t.Errorf("an Adam step changed %d of %d parameters", changed, len(params))
			}
		})
	}
}

func TestLossDependsOnTheInput(t *testing.T) {
	for _, name := range allMethods {
		t.Run(name, func(t *testing.T) {
			m := newMethod(t, name, 1)
			tp := autodiff.NewTape()
			a := lossOf(m, randomBatch(tp, 8, 3))
			b := lossOf(m, randomBatch(tp, 8, 4))
			if a == b {
				t.Errorf("same loss %v for different batches", a)
			}
		})
	}
}

// TestInvarianceLossesDropWhenViewsMatch pairs every image with an identical second view, then
// with the view of another image of the same batch (the second half permuted). The batch is the
// same set of images both times, so BatchNorm and every batch statistic of the loss (variances,
// covariances, negatives) are unchanged; only the pairing differs, and the matched pairing must
// cost less. The predictor methods are first trained for 100 steps on noisy views of the images:
// their randomly initialised predictor does not yet map one view's projection to the other's.
func TestInvarianceLossesDropWhenViewsMatch(t *testing.T) {
	for _, name := range allMethods {
		t.Run(name, func(t *testing.T) {
			m := newMethod(t, name, 1)
			tp := autodiff.NewTape()
			base := randomImages(24, 99)
			if m.Model().Predictor != nil {
				rng := rand.New(rand.NewPCG(5, 5))
				opt := optim.NewAdam(m.Params(), optim.AdamConfig{LR: 3e-3})
				for i := range 100 {
					step(tp, m, opt, viewsOf(tp, base, 16, rng), float64(i+1)/100)
				}
			}
			const n = 8
			unknown := make([]int, n)
			for i := range unknown {
				unknown[i] = -1 // SupCon: no shared labels, so the other views are negatives
			}
			for k := range 3 { // three batches of the images trained on
				d := 64
				x := tensor.FromSlice(base.Data[k*n*d:(k+1)*n*d], n, 1, 8, 8)
				matched := tensor.New(2*n, 1, 8, 8)
				shifted := tensor.New(2*n, 1, 8, 8)
				copy(matched.Data, x.Data)
				copy(matched.Data[len(x.Data):], x.Data)
				copy(shifted.Data, x.Data)
				for i := range n { // view 2 of image i is image i+1
					j := (i + 1) % n
					copy(shifted.Data[(n+i)*d:(n+i+1)*d], x.Data[j*d:(j+1)*d])
				}
				same := lossOf(m, Batch{X: tp.Constant(matched), V: 2, N: n, Labels: unknown})
				other := lossOf(m, Batch{X: tp.Constant(shifted), V: 2, N: n, Labels: unknown})
				t.Logf("batch %d: matching views %.4f, views of other images %.4f", k, same, other)
				if !(same < other) {
					t.Errorf("batch %d: loss %v with matching views, %v with views of other images: want lower", k, same, other)
				}
			}
		})
	}
}

// TestStateRoundTripResumesBitIdentically trains a method a few steps, copies the online model
// and the method's State into a fresh instance, and checks the next two losses (with an
// after-step between them) are bit-identical.
func TestStateRoundTripResumesBitIdentically(t *testing.T) {
	for _, name := range allMethods {
		t.Run(name, func(t *testing.T) {
			a := newMethod(t, name, 1)
			tp := autodiff.NewTape()
			opt := optim.NewAdam(a.Params(), optim.AdamConfig{LR: 1e-2})
			for i := range 3 {
				step(tp, a, opt, randomBatch(tp, 8, uint64(10+i)), float64(i)/10)
			}
			b := newMethod(t, name, 2)
			if err := b.Model().CopyFrom(a.Model()); err != nil {
				t.Fatal(err)
			}
			if err := b.LoadState(a.State()); err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				la, lb := lossOf(a, randomBatch(tp, 8, 20)), lossOf(b, randomBatch(tp, 8, 20))
				if math.Float32bits(la) != math.Float32bits(lb) {
					t.Fatalf("loss %d after resuming: %v, want %v", i, lb, la)
				}
				a.AfterStep(0.5)
				b.AfterStep(0.5)
			}
		})
	}
}

func TestStatefulMethodsRejectOtherStates(t *testing.T) {
	for _, name := range []string{"moco-v2", "moco-v3", "byol", "nnclr", "swav", "dino"} {
		t.Run(name, func(t *testing.T) {
			m := newMethod(t, name, 1)
			st := m.State()
			if len(st) == 0 {
				t.Fatal("empty state")
			}
			bad := map[string]*tensor.Tensor{"unrelated": tensor.New(1)}
			for k, v := range st {
				bad[k] = v
			}
			if err := m.LoadState(bad); err == nil {
				t.Error("an unexpected key was accepted")
			}
			if err := m.LoadState(map[string]*tensor.Tensor{}); err == nil {
				t.Error("an empty state was accepted")
			}
		})
	}
}

func TestBadMomentumIsAnError(t *testing.T) {
	for _, name := range []string{"moco-v2", "moco-v3", "byol", "dino"} {
		for _, mom := range []float64{1, 1.5, -0.1} {
			f, _ := Lookup(name)
			cfg := tinyConfig()
			if f.Adjust != nil {
				f.Adjust(&cfg)
			}
			m, err := models.Build(cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.New(m, Config{EMAMomentum: mom}); err == nil {
				t.Errorf("%s: momentum %v accepted", name, mom)
			}
		}
	}
}

func TestPredictorMethodsNeedAPredictor(t *testing.T) {
	for _, name := range []string{"byol", "simsiam", "moco-v3", "nnclr"} {
		f, _ := Lookup(name)
		m, err := models.Build(tinyConfig(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.New(m, Config{}); err == nil {
			t.Errorf("%s: a model without predictor was accepted", name)
		}
	}
}

func TestSimSiamLossIsMinusCosine(t *testing.T) {
	m := newMethod(t, "simsiam", 1).(*SimSiam)
	tp := autodiff.NewTape()
	b := randomBatch(tp, 8, 3)
	got := m.Loss(b).Item()
	z := m.model.Forward(b.X)
	p := m.model.Predict(z)
	cos := func(a, b []float32) float64 {
		var ab, aa, bb float64
		for i := range a {
			ab += float64(a[i]) * float64(b[i])
			aa += float64(a[i]) * float64(a[i])
			bb += float64(b[i]) * float64(b[i])
		}
		return ab / math.Sqrt(aa*bb)
	}
	d := p.Shape()[1]
	var want float64
	for i := range 8 {
		want -= 0.5 / 8 * cos(p.Data()[i*d:(i+1)*d], z.Data()[(8+i)*d:(9+i)*d])
		want -= 0.5 / 8 * cos(p.Data()[(8+i)*d:(9+i)*d], z.Data()[i*d:(i+1)*d])
	}
	if math.Abs(float64(got)-want) > 1e-5 {
		t.Errorf("SimSiam loss %v, want ½D(p1,z2)+½D(p2,z1) = %v", got, want)
	}
}

func TestSupConLabels(t *testing.T) {
	tp := autodiff.NewTape()
	m := newMethod(t, "supcon", 1)
	b := randomBatch(tp, 8, 3)
	withLabels := lossOf(m, b)

	// Unknown labels are classes of their own: all unknown equals no labels equals NT-Xent.
	b.Labels = []int{-1, -1, -1, -1, -1, -1, -1, -1}
	unknown := lossOf(m, b)
	b.Labels = nil
	none := lossOf(m, b)
	want := loss.NTXent(m.Model().Forward(b.X), 0.1).Item()
	tp.Reset()
	if unknown != none || math.Abs(float64(none-want)) > 1e-5 {
		t.Errorf("all-unknown labels %v, no labels %v, NT-Xent %v: want all equal", unknown, none, want)
	}
	if withLabels == none {
		t.Errorf("shared labels do not change the loss (%v)", none)
	}
	if got := supConLabels(nil, []int{2, -1, 0, -1}, 4); !slices.Equal(got, []int{2, -2, 0, -4}) {
		t.Errorf("supConLabels: %v", got)
	}
}
