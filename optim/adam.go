package optim

import (
	"math"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/tensor"
)

// AdamConfig sets the hyperparameters of Adam and AdamW. Zero Beta1, Beta2 and Eps take PyTorch's
// defaults 0.9, 0.999 and 1e-8 (use a tiny positive value for a true zero).
type AdamConfig struct {
	LR           float64 // learning rate η
	Beta1, Beta2 float64 // decay rates β₁, β₂ of the first and second moment estimates
	Eps          float64 // ε, added to the bias-corrected √v
	WeightDecay  float64 // λ: an L2 term in the gradient (Adam) or decoupled decay (AdamW)
}

func (c *AdamConfig) defaults(op string) {
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	checkNonNeg(op, "weight decay", c.WeightDecay)
	checkNonNeg(op, "eps", c.Eps)
	for _, b := range []float64{c.Beta1, c.Beta2} {
		if !(b >= 0 && b < 1) {
			panic("optim." + op + ": betas must be in [0, 1)")
		}
	}
}

// Adam is the Adam optimizer (Kingma & Ba 2015) with PyTorch 1.13's torch.optim.Adam semantics
// (amsgrad off). At step t, for each parameter w with gradient ∇:
//
//	g = ∇ + λ·w                       (Adam's L2 weight decay; AdamW instead decays w directly)
//	m = β₁·m + (1−β₁)·g
//	v = β₂·v + (1−β₂)·g²
//	w = w − η · (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)
//
// with m = v = 0 initially. NewAdamW makes the decoupled-weight-decay variant. State: ".exp_avg"
// (m) and ".exp_avg_sq" (v) per parameter, and "step" (t).
type Adam struct {
	base
	cfg       AdamConfig
	decoupled bool
	m, v      *slot
}

// NewAdam returns an Adam optimizer over params; see AdamConfig for defaults. Invalid
// hyperparameters panic.
func NewAdam(params []*autodiff.Var, cfg AdamConfig) *Adam {
	return newAdam("Adam", params, cfg, false)
}

func newAdam(op string, params []*autodiff.Var, cfg AdamConfig, decoupled bool) *Adam {
	b := newBase(op, params, cfg.LR)
	cfg.defaults(op)
	n := len(params)
	return &Adam{base: b, cfg: cfg, decoupled: decoupled, m: newSlot(".exp_avg", n), v: newSlot(".exp_avg_sq", n)}
}

// Step updates every parameter that has a gradient. The arithmetic of one element runs in
// float64 and is rounded once when stored, with no fused multiply-add, so the results are the
// same on every architecture and CPU (see adamGo).
func (o *Adam) Step() {
	o.step++
	t := float64(o.step)
	b1, b2, eps, lr, wd := o.cfg.Beta1, o.cfg.Beta2, o.cfg.Eps, o.lr, o.cfg.WeightDecay
	bc1 := 1 - math.Pow(b1, t)
	bc2sqrt := math.Sqrt(1 - math.Pow(b2, t))
	stepSize := lr / bc1
	decay := 1.0 // AdamW: w ← w·(1 − ηλ) before the Adam update
	l2 := wd     // Adam: g ← ∇ + λw
	if o.decoupled {
		decay, l2 = 1-lr*wd, 0
	}
	k := &adamConsts{decay: decay, l2: l2, b1: b1, c1: 1 - b1, b2: b2, c2: 1 - b2,
		stepSize: stepSize, bc2sqrt: bc2sqrt, eps: eps, decayed: decay != 1}
	for i, p := range o.params {
		if p.Grad == nil {
			continue
		}
		w, grad := p.Value.Data, p.Grad.Data
		m, _ := o.m.get(i, len(w))
		v, _ := o.v.get(i, len(w))
		each(len(w), func(lo, hi int) { adamUpdate(w[lo:hi], grad[lo:hi], m[lo:hi], v[lo:hi], k) })
	}
}

// adamConsts are the per-step constants of adamGo; the assembly kernels read them by offset, so
// the layout is fixed (nine float64s, then decayed at byte 72).
type adamConsts struct {
	decay, l2, b1, c1, b2, c2, stepSize, bc2sqrt, eps float64
	decayed                                           bool // decay != 1 (AdamW with λ > 0)
}

// adamUpdate applies one Adam step to w with gradient grad and moments m, v (all of w's length):
// the assembly kernel takes the whole vector groups where the CPU has one, adamGo the rest.
func adamUpdate(w, grad, m, v []float32, k *adamConsts) {
	n := len(w)
	grad, m, v = grad[:n], m[:n], v[:n]
	if adamLanes > 0 {
		// At most asmBlock elements a call, since the goroutine cannot be preempted inside one.
		const asmBlock = 1 << 16
		for n >= adamLanes {
			s := min(n, asmBlock) &^ (adamLanes - 1)
			adamAsm(&w[0], &grad[0], &m[0], &v[0], s, k)
			w, grad, m, v, n = w[s:], grad[s:], m[s:], v[s:], n-s
		}
	}
	adamGo(w, grad, m, v, k)
}

// adamGo is the element update in float64, each result rounded once when stored. The explicit
// float64 conversions round every product before it is added, which stops the compiler fusing a
// multiply and an add (as it may on arm64, or on amd64 with GOAMD64=v3), so the results do not
// depend on the architecture and match the assembly kernels bit for bit.
func adamGo(w, grad, m, v []float32, k *adamConsts) {
	grad, m, v = grad[:len(w)], m[:len(w)], v[:len(w)]
	for j := range w {
		wj := float64(w[j])
		if k.decayed {
			wj = float64(float32(wj * k.decay))
		}
		g := float64(grad[j]) + float64(k.l2*wj)
		mj := float64(k.b1*float64(m[j])) + float64(k.c1*g)
		vj := float64(k.b2*float64(v[j])) + float64(float64(k.c2*g)*g)
		m[j], v[j] = float32(mj), float32(vj)
		w[j] = float32(wj - float64(k.stepSize*mj)/(math.Sqrt(vj)/k.bc2sqrt+k.eps))
	}
}

// State returns "step" and each parameter's ".exp_avg" and ".exp_avg_sq" (once it has stepped).
func (o *Adam) State() map[string]*tensor.Tensor { return o.saveState(o.m, o.v) }

// LoadState restores a State (see Optimizer).
func (o *Adam) LoadState(st map[string]*tensor.Tensor) error {
	op := "Adam"
	if o.decoupled {
		op = "AdamW"
	}
	return o.loadState(op, st, o.m, o.v)
}
