package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/gradcheck"
	"github.com/contrastive-go/contrastive/tensor"
)

// lossCase is one loss with small random inputs, for the properties every loss must have.
type lossCase struct {
	name   string
	shapes [][]int
	// constant marks inputs that are stop-gradient: they get no gradient and are not checked.
	constant []bool
	// scale multiplies the random inputs (VICReg keeps its std below the hinge at 1).
	scale float32
	// eps is the finite-difference step (default 1e-2).
	eps float64
	// noFD says why finite differences of the whole function do not apply (a term the loss
	// holds constant depends on the input); such a loss is checked with that term fixed in its
	// own test.
	noFD string
	// f builds the loss with temperature tau where it has one.
	f func(in []*autodiff.Var, tau float32) *autodiff.Var
}

var (
	labels6  = []int{0, 1, 2, 0, 1, 2}
	labels12 = []int{0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3}
)

func allLosses() []lossCase {
	return []lossCase{
		{name: "NTXent", shapes: [][]int{{12, 5}}, f: func(in []*autodiff.Var, tau float32) *autodiff.Var { return NTXent(in[0], tau) }},
		{name: "NTXent with memory bank", shapes: [][]int{{8, 5}, {10, 5}}, constant: []bool{false, true},
			f: func(in []*autodiff.Var, tau float32) *autodiff.Var {
				return NTXent(in[0], tau, WithMemoryBank(in[1].Value))
			}},
		{name: "InfoNCE", shapes: [][]int{{6, 5}, {6, 5}, {10, 5}}, constant: []bool{false, true, true},
			f: func(in []*autodiff.Var, tau float32) *autodiff.Var { return InfoNCE(in[0], in[1], in[2], tau) }},
		{name: "MoCoV3", shapes: [][]int{{6, 5}, {6, 5}, {6, 5}, {6, 5}}, constant: []bool{false, false, true, true},
			f: func(in []*autodiff.Var, tau float32) *autodiff.Var { return MoCoV3(in[0], in[1], in[2], in[3], tau) }},
		{name: "SupCon", shapes: [][]int{{12, 5}}, f: func(in []*autodiff.Var, tau float32) *autodiff.Var { return SupCon(in[0], labels6, tau, tau) }},
		{name: "Triplet batch-hard", shapes: [][]int{{12, 5}}, eps: 1e-3,
			f: func(in []*autodiff.Var, _ float32) *autodiff.Var { return Triplet(in[0], labels12, 1, BatchHard) }},
		{name: "Triplet semi-hard", shapes: [][]int{{12, 5}}, eps: 1e-3,
			f: func(in []*autodiff.Var, _ float32) *autodiff.Var { return Triplet(in[0], labels12, 1, SemiHard) }},
		{name: "ContrastiveMargin", shapes: [][]int{{6, 5}, {6, 5}}, eps: 1e-3,
			f: func(in []*autodiff.Var, _ float32) *autodiff.Var {
				return ContrastiveMargin(in[0], in[1], []bool{true, false, true, false, false, true}, 4)
			}},
		{name: "NegativeCosine", shapes: [][]int{{6, 5}, {6, 5}}, constant: []bool{false, true},
			f: func(in []*autodiff.Var, _ float32) *autodiff.Var { return NegativeCosine(in[0], in[1]) }},
		{name: "BarlowTwins", shapes: [][]int{{10, 4}, {10, 4}},
			f: func(in []*autodiff.Var, _ float32) *autodiff.Var { return BarlowTwins(in[0], in[1], 5e-3) }},
		{name: "DCL", shapes: [][]int{{12, 5}}, f: func(in []*autodiff.Var, tau float32) *autodiff.Var { return DCL(in[0], tau) }},
		{name: "DCLW", shapes: [][]int{{12, 5}}, noFD: "its weights are constants computed from z (TestDCLMatchesNaiveAndFiniteDifferences holds them fixed)", f: func(in []*autodiff.Var, tau float32) *autodiff.Var { return DCLW(in[0], tau, 0.5) }},
		{name: "NNCLR", shapes: [][]int{{6, 5}, {6, 5}, {6, 5}, {6, 5}}, constant: []bool{true, true, false, false},
			f: func(in []*autodiff.Var, tau float32) *autodiff.Var { return NNCLR(in[0], in[1], in[2], in[3], tau) }},
		{name: "SwAV", shapes: [][]int{{12, 5}, {8, 5}}, constant: []bool{false, true}, f: func(in []*autodiff.Var, tau float32) *autodiff.Var {
			return SwAV(in[0], Sinkhorn(in[1].Value.Data, 8, 5, 0.05, 3), 4, tau) // codes of fixed scores
		}},
		{name: "DINO", shapes: [][]int{{12, 5}, {8, 5}, {5}}, constant: []bool{false, true, true}, f: func(in []*autodiff.Var, tau float32) *autodiff.Var {
			return DINO(in[0], in[1].Value, in[2].Value, 4, tau, tau/2)
		}},
		{name: "VICReg", shapes: [][]int{{10, 4}, {10, 4}}, scale: 0.5,
			f: func(in []*autodiff.Var, _ float32) *autodiff.Var { return VICReg(in[0], in[1], 25, 25, 1) }},
	}
}

func (c lossCase) inputs(seed uint64, scale float32) []*tensor.Tensor {
	if c.scale != 0 {
		scale *= c.scale
	}
	rng := rand.New(rand.NewPCG(seed, 77))
	xs := make([]*tensor.Tensor, len(c.shapes))
	for i, s := range c.shapes {
		xs[i] = randn(rng, scale, s...)
	}
	return xs
}

func TestEveryLossMatchesFiniteDifferences(t *testing.T) {
	for _, c := range allLosses() {
		t.Run(c.name, func(t *testing.T) {
			if c.noFD != "" {
				t.Skip(c.noFD)
			}
			gradcheck.Check(t, c.name, func(tp *autodiff.Tape, in []*autodiff.Var) *autodiff.Var { return c.f(in, 0.5) },
				c.inputs(1, 1), gradcheck.Options{Eps: c.eps, Skip: c.constant, Seed: 5})
		})
	}
}

// TestEveryLossDependsOnItsInputs guards against the seed's ContrastiveLoss, which is 0 for every
// input: two different inputs must give different values, and the gradient must not vanish.
func TestEveryLossDependsOnItsInputs(t *testing.T) {
	for _, c := range allLosses() {
		t.Run(c.name, func(t *testing.T) {
			f := func(in []*autodiff.Var) *autodiff.Var { return c.f(in, 0.5) }
			l1, g1 := evalGrad(t, f, c.inputs(1, 1)...)
			l2, _ := evalGrad(t, f, c.inputs(2, 1)...)
			if l1 == l2 {
				t.Errorf("same loss %v for two different random inputs", l1)
			}
			for i, g := range g1 {
				constant := i < len(c.constant) && c.constant[i]
				if constant && maxAbs(g) != 0 {
					t.Errorf("stop-gradient input %d received a gradient", i)
				}
				if !constant && maxAbs(g) == 0 {
					t.Errorf("zero gradient for input %d", i)
				}
			}
		})
	}
}

// TestEveryLossIsStableForLargeInputs uses τ = 0.05 (logits up to ±20) on inputs scaled ×100.
func TestEveryLossIsStableForLargeInputs(t *testing.T) {
	for _, c := range allLosses() {
		t.Run(c.name, func(t *testing.T) {
			loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return c.f(in, 0.05) }, c.inputs(3, 100)...)
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				t.Fatalf("loss %v", loss)
			}
			for i := range g {
				if !allFinite(g[i]) {
					t.Errorf("gradient of input %d is not finite", i)
				}
			}
		})
	}
}

// A cosine-similarity loss is scale invariant: ×100 with τ = 0.05 must equal ×1 with τ = 0.05.
func TestTemperatureLossesAreScaleInvariant(t *testing.T) {
	for _, c := range allLosses()[:5] {
		t.Run(c.name, func(t *testing.T) {
			f := func(in []*autodiff.Var) *autodiff.Var { return c.f(in, 0.05) }
			small, _ := evalGrad(t, f, c.inputs(4, 1)...)
			large, _ := evalGrad(t, f, c.inputs(4, 100)...)
			if d := math.Abs(small - large); d > 1e-4*math.Max(1, math.Abs(small)) {
				t.Errorf("loss %v at scale 1, %v at scale 100", small, large)
			}
		})
	}
}

func TestExpfIsAccurate(t *testing.T) {
	for _, x := range []float32{-87, -50, -20.5, -1, -0.3466, -1e-8, 0, 1e-8, 0.3466, 1, 10, 50, 88.5} {
		got, want := float64(expf(x)), math.Exp(float64(x))
		if d := math.Abs(got-want) / want; d > 3e-7 {
			t.Errorf("expf(%v) = %v, want %v (relative error %.2g)", x, got, want, d)
		}
	}
	for _, tc := range []struct {
		x    float32
		want float64
	}{{-88, 0}, {-1000, 0}, {float32(math.Inf(-1)), 0}, {89, math.Inf(1)}} {
		if got := float64(expf(tc.x)); got != tc.want {
			t.Errorf("expf(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
	if nan := float32(math.NaN()); !math.IsNaN(float64(expf(nan))) {
		t.Error("expf(NaN) is not NaN")
	}
}
