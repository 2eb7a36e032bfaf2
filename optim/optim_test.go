package optim_test

import (
	"math"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/optim"
	"github.com/contrastive-go/contrastive/tensor"
)

var (
	_ optim.Optimizer = (*optim.SGD)(nil)
	_ optim.Optimizer = (*optim.Adam)(nil)
	_ optim.Optimizer = (*optim.LARS)(nil)
)

// param makes a named parameter holding a copy of data.
func param(name string, data []float32, shape ...int) *autodiff.Var {
	p := autodiff.Param(tensor.FromSlice(append([]float32(nil), data...), shape...))
	p.Name = name
	return p
}

// makers build each optimizer under test over params.
var makers = []struct {
	name string
	make func(ps []*autodiff.Var) optim.Optimizer
}{
	{"SGD", func(ps []*autodiff.Var) optim.Optimizer { return optim.NewSGD(ps, optim.SGDConfig{LR: 0.1}) }},
	{"SGDMomentumDecay", func(ps []*autodiff.Var) optim.Optimizer {
		return optim.NewSGD(ps, optim.SGDConfig{LR: 0.05, Momentum: 0.9, WeightDecay: 1e-3})
	}},
	{"SGDNesterov", func(ps []*autodiff.Var) optim.Optimizer {
		return optim.NewSGD(ps, optim.SGDConfig{LR: 0.05, Momentum: 0.9, Nesterov: true})
	}},
	{"Adam", func(ps []*autodiff.Var) optim.Optimizer {
		return optim.NewAdam(ps, optim.AdamConfig{LR: 0.1, WeightDecay: 1e-4})
	}},
	{"AdamW", func(ps []*autodiff.Var) optim.Optimizer {
		return optim.NewAdamW(ps, optim.AdamConfig{LR: 0.1, WeightDecay: 1e-2})
	}},
	{"LARS", func(ps []*autodiff.Var) optim.Optimizer {
		return optim.NewLARS(ps, optim.LARSConfig{LR: 0.1, Eta: 0.1, WeightDecay: 1e-6})
	}},
	{"LARSNesterov", func(ps []*autodiff.Var) optim.Optimizer {
		return optim.NewLARS(ps, optim.LARSConfig{LR: 0.1, Eta: 0.1, Nesterov: true})
	}},
}

// quadratic is f(w) = ½ Σ_p Σ_j a_j (w_pj − c_j)² over a weight matrix and a bias; setGrads writes
// ∇f into the parameters' gradients (replacing, as after ZeroGrad and Backward).
type quadratic struct{ a, c []float32 }

var quad = quadratic{a: []float32{1, 3, 0.5, 2, 1.5, 0.8}, c: []float32{4, -3, 2, 5, -6, 1}}

func quadParams() []*autodiff.Var {
	return []*autodiff.Var{
		param("layer.weight", []float32{1, 1, -1, 0.5, 2, -2}, 2, 3),
		param("layer.bias", []float32{0.5, -0.5, 1}, 3),
	}
}

func (q quadratic) value(ps []*autodiff.Var) float64 {
	var f float64
	for _, p := range ps {
		for j, w := range p.Value.Data {
			d := float64(w - q.c[j])
			f += 0.5 * float64(q.a[j]) * d * d
		}
	}
	return f
}

func (q quadratic) setGrads(ps []*autodiff.Var) {
	for _, p := range ps {
		for j, w := range p.Value.Data {
			p.Grad.Data[j] = q.a[j] * (w - q.c[j])
		}
	}
}

func TestEveryOptimizerDecreasesAQuadratic(t *testing.T) {
	for _, m := range makers {
		t.Run(m.name, func(t *testing.T) {
			ps := quadParams()
			opt := m.make(ps)
			f0 := quad.value(ps)
			for step := 0; step < 300; step++ {
				opt.ZeroGrad()
				quad.setGrads(ps)
				opt.Step()
			}
			if f := quad.value(ps); !(f < 0.05*f0) {
				t.Errorf("after 300 steps f = %v, started at %v: want below 5%%", f, f0)
			}
		})
	}
}

func TestStateRoundTripResumesBitIdentically(t *testing.T) {
	for _, m := range makers {
		t.Run(m.name, func(t *testing.T) {
			ps := quadParams()
			opt := m.make(ps)
			run := func(opt optim.Optimizer, ps []*autodiff.Var, n int) {
				for i := 0; i < n; i++ {
					opt.ZeroGrad()
					quad.setGrads(ps)
					opt.Step()
				}
			}
			run(opt, ps, 3)
			st := opt.State()
			if s := st["step"]; s == nil || s.Data[0] != 3 {
				t.Fatalf("state step = %v, want 3", s)
			}
			for k := range st {
				if k != "step" && !strings.HasPrefix(k, "layer.") {
					t.Errorf("state key %q is not keyed by parameter name", k)
				}
			}
			saved := make([][]float32, len(ps))
			for i, p := range ps {
				saved[i] = append([]float32(nil), p.Value.Data...)
			}
			run(opt, ps, 4)
			// State must be a copy: the 4 steps above must not have changed it.
			resumed := quadParams()
			for i, p := range resumed {
				copy(p.Value.Data, saved[i])
			}
			opt2 := m.make(resumed)
			if err := opt2.LoadState(st); err != nil {
				t.Fatal(err)
			}
			run(opt2, resumed, 4)
			for i := range ps {
				for j, w := range ps[i].Value.Data {
					if got := resumed[i].Value.Data[j]; math.Float32bits(got) != math.Float32bits(w) {
						t.Fatalf("param %d[%d]: resumed %v, uninterrupted %v", i, j, got, w)
					}
				}
			}
			// Without the state, the continuation differs (the test can tell).
			fresh := quadParams()
			for i, p := range fresh {
				copy(p.Value.Data, saved[i])
			}
			run(m.make(fresh), fresh, 4)
			same := true
			for i := range ps {
				for j, w := range ps[i].Value.Data {
					same = same && fresh[i].Value.Data[j] == w
				}
			}
			if same && m.name != "SGD" { // plain SGD has no state but the step
				t.Error("a fresh optimizer continued identically: the state carries nothing")
			}
		})
	}
}

func TestLoadStateRejectsBadStateAndChangesNothing(t *testing.T) {
	ps := quadParams()
	opt := optim.NewAdam(ps, optim.AdamConfig{LR: 0.1})
	quad.setGrads(ps)
	opt.Step()
	good := opt.State()
	clone := func() map[string]*tensor.Tensor {
		c := make(map[string]*tensor.Tensor)
		for k, v := range good {
			c[k] = v.Clone()
		}
		return c
	}
	cases := []struct {
		name string
		edit func(map[string]*tensor.Tensor)
		want string
	}{
		{"MissingBuffer", func(s map[string]*tensor.Tensor) { delete(s, "layer.bias.exp_avg") }, "layer.bias.exp_avg"},
		{"WrongShape", func(s map[string]*tensor.Tensor) { s["layer.weight.exp_avg_sq"] = tensor.New(3, 2) }, "[3 2]"},
		{"UnknownKey", func(s map[string]*tensor.Tensor) { s["head.weight.exp_avg"] = tensor.New(2, 3) }, "head.weight.exp_avg"},
		{"NoStep", func(s map[string]*tensor.Tensor) { delete(s, "step") }, "step"},
		{"FractionalStep", func(s map[string]*tensor.Tensor) { s["step"] = tensor.Scalar(1.5) }, "step"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := optim.NewAdam(quadParams(), optim.AdamConfig{LR: 0.1})
			s := clone()
			c.edit(s)
			err := o.LoadState(s)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
			if o.Steps() != 0 || len(o.State()) != 1 {
				t.Errorf("a failed LoadState changed the optimizer: step %d, %d state entries", o.Steps(), len(o.State()))
			}
		})
	}
	// A step-0 state (no buffers yet) loads.
	if err := optim.NewAdam(quadParams(), optim.AdamConfig{}).LoadState(optim.NewAdam(quadParams(), optim.AdamConfig{}).State()); err != nil {
		t.Errorf("loading a step-0 state: %v", err)
	}
}

func TestLRAndZeroGrad(t *testing.T) {
	for _, m := range makers {
		ps := quadParams()
		opt := m.make(ps)
		opt.SetLR(0.25)
		if opt.LR() != 0.25 {
			t.Errorf("%s: LR() = %v after SetLR(0.25)", m.name, opt.LR())
		}
		quad.setGrads(ps)
		opt.ZeroGrad()
		for _, p := range ps {
			for _, g := range p.Grad.Data {
				if g != 0 {
					t.Fatalf("%s: ZeroGrad left %v", m.name, g)
				}
			}
		}
	}
}

func TestUnnamedParametersGetPositionalKeys(t *testing.T) {
	a := autodiff.Param(tensor.New(2))
	b := autodiff.Param(tensor.New(2))
	opt := optim.NewSGD([]*autodiff.Var{a, b}, optim.SGDConfig{LR: 0.1, Momentum: 0.9})
	opt.Step()
	st := opt.State()
	for _, k := range []string{"param.0.momentum_buffer", "param.1.momentum_buffer"} {
		if st[k] == nil {
			t.Errorf("state has no %q: %v", k, st)
		}
	}
}
