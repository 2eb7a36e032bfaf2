package optim

import (
	"math"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/tensor"
)

// LARSConfig sets the hyperparameters of LARS. Zero Momentum and Eta take SimCLR's defaults 0.9
// and 0.001 (use a tiny positive value for a true zero).
type LARSConfig struct {
	LR          float64 // base learning rate η_base (SimCLR: 0.3·batch/256)
	Momentum    float64 // μ
	WeightDecay float64 // λ (SimCLR: 1e-6), only on adapted parameters
	Eta         float64 // trust coefficient η (SimCLR's "eeta")
	Nesterov    bool
	// Exclude reports whether a parameter skips weight decay and layer-wise adaptation (it then
	// takes plain momentum SGD steps). Nil means ExcludeOneDim: biases and BatchNorm scales/shifts.
	Exclude func(p *autodiff.Var) bool
}

// ExcludeOneDim is LARS's default exclusion: every 1-D parameter (biases, BatchNorm γ and β).
func ExcludeOneDim(p *autodiff.Var) bool { return len(p.Shape()) == 1 }

// LARS is layer-wise adaptive rate scaling (You, Gitman & Ginsburg 2017) as used by SimCLR
// (Chen et al. 2020, the TensorFlow LARSOptimizer). For each parameter w with gradient ∇ that is
// not excluded:
//
//	g     = ∇ + λ·w
//	trust = η·‖w‖ / ‖g‖   (1 when ‖w‖ = 0 or ‖g‖ = 0)
//	v     = μ·v + η_base·trust·g
//	w     = w − v            (Nesterov: w − (μ·v + η_base·trust·g))
//
// Excluded parameters use g = ∇ and trust = 1. The learning rate lives inside the momentum
// buffer, as in SimCLR. State: ".momentum_buffer" per parameter, and "step".
type LARS struct {
	base
	cfg LARSConfig
	buf *slot
}

// NewLARS returns a LARS optimizer over params; see LARSConfig for defaults. Invalid
// hyperparameters panic.
func NewLARS(params []*autodiff.Var, cfg LARSConfig) *LARS {
	b := newBase("LARS", params, cfg.LR)
	if cfg.Momentum == 0 {
		cfg.Momentum = 0.9
	}
	if cfg.Eta == 0 {
		cfg.Eta = 0.001
	}
	if cfg.Exclude == nil {
		cfg.Exclude = ExcludeOneDim
	}
	checkNonNeg("LARS", "momentum", cfg.Momentum)
	checkNonNeg("LARS", "weight decay", cfg.WeightDecay)
	checkNonNeg("LARS", "eta", cfg.Eta)
	return &LARS{base: b, cfg: cfg, buf: newSlot(".momentum_buffer", len(params))}
}

// TrustRatio returns the factor LARS would multiply the learning rate by for p with its current
// value and gradient: η·‖w‖/‖∇ + λw‖, or 1 for excluded parameters and zero norms.
func (o *LARS) TrustRatio(p *autodiff.Var) float64 {
	if o.cfg.Exclude(p) {
		return 1
	}
	w, grad := p.Value.Data, p.Grad.Data
	wd := float32(o.cfg.WeightDecay)
	var gs float64
	for j, v := range grad {
		g := float64(v + wd*w[j])
		gs += g * g
	}
	wn := norm2(w)
	if wn == 0 || gs == 0 {
		return 1
	}
	return o.cfg.Eta * wn / math.Sqrt(gs)
}

// Step updates every parameter that has a gradient.
func (o *LARS) Step() {
	o.step++
	mu := float32(o.cfg.Momentum)
	nesterov := o.cfg.Nesterov
	for i, p := range o.params {
		if p.Grad == nil {
			continue
		}
		w, grad := p.Value.Data, p.Grad.Data
		wd := float32(o.cfg.WeightDecay)
		if o.cfg.Exclude(p) {
			wd = 0
		}
		scaled := float32(o.lr * o.TrustRatio(p))
		v, _ := o.buf.get(i, len(w))
		each(len(w), func(lo, hi int) {
			for j := lo; j < hi; j++ {
				g := scaled * (grad[j] + wd*w[j])
				v[j] = mu*v[j] + g
				if nesterov {
					w[j] -= mu*v[j] + g
				} else {
					w[j] -= v[j]
				}
			}
		})
	}
}

// State returns "step" and each parameter's ".momentum_buffer" (once it has stepped).
func (o *LARS) State() map[string]*tensor.Tensor { return o.saveState(o.buf) }

// LoadState restores a State (see Optimizer).
func (o *LARS) LoadState(st map[string]*tensor.Tensor) error { return o.loadState("LARS", st, o.buf) }
