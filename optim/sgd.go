package optim

import (
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/tensor"
)

// SGDConfig sets the hyperparameters of SGD. The zero value beside LR is plain gradient descent.
type SGDConfig struct {
	LR          float64 // learning rate η
	Momentum    float64 // μ; 0 disables the momentum buffer
	Dampening   float64 // τ, applied to the gradient in the buffer update (not on the first step)
	WeightDecay float64 // λ, L2 penalty added to the gradient
	Nesterov    bool    // Nesterov momentum (needs Momentum > 0 and Dampening 0)
}

// SGD is stochastic gradient descent with optional momentum, Nesterov momentum and weight decay,
// with PyTorch's torch.optim.SGD semantics. For each parameter w with gradient ∇:
//
//	g = ∇ + λ·w
//	b = g                    on the first step (momentum buffer)
//	b = μ·b + (1−τ)·g        afterwards
//	g = g + μ·b  (Nesterov)  or  g = b
//	w = w − η·g
//
// Without momentum the update is w −= η·(∇ + λw). State: ".momentum_buffer" per parameter.
type SGD struct {
	base
	cfg SGDConfig
	buf *slot
}

// NewSGD returns an SGD optimizer over params. Invalid hyperparameters (negative values, Nesterov
// without momentum or with dampening) panic.
func NewSGD(params []*autodiff.Var, cfg SGDConfig) *SGD {
	b := newBase("SGD", params, cfg.LR)
	checkNonNeg("SGD", "momentum", cfg.Momentum)
	checkNonNeg("SGD", "dampening", cfg.Dampening)
	checkNonNeg("SGD", "weight decay", cfg.WeightDecay)
	if cfg.Nesterov && (cfg.Momentum <= 0 || cfg.Dampening != 0) {
		panic(fmt.Sprintf("optim.SGD: Nesterov momentum needs momentum > 0 and dampening 0, got momentum %g, dampening %g", cfg.Momentum, cfg.Dampening))
	}
	return &SGD{base: b, cfg: cfg, buf: newSlot(".momentum_buffer", len(params))}
}

// Step updates every parameter that has a gradient.
func (o *SGD) Step() {
	o.step++
	lr, wd, mu, damp := float32(o.lr), float32(o.cfg.WeightDecay), float32(o.cfg.Momentum), float32(1-o.cfg.Dampening)
	nesterov := o.cfg.Nesterov
	for i, p := range o.params {
		if p.Grad == nil {
			continue
		}
		w, grad := p.Value.Data, p.Grad.Data
		if mu == 0 {
			each(len(w), func(lo, hi int) {
				for j := lo; j < hi; j++ {
					w[j] -= lr * (grad[j] + wd*w[j])
				}
			})
			continue
		}
		b, first := o.buf.get(i, len(w))
		each(len(w), func(lo, hi int) {
			for j := lo; j < hi; j++ {
				g := grad[j] + wd*w[j]
				if first {
					b[j] = g
				} else {
					b[j] = mu*b[j] + damp*g
				}
				if nesterov {
					g += mu * b[j]
				} else {
					g = b[j]
				}
				w[j] -= lr * g
			}
		})
	}
}

// State returns "step" and, once momentum has been used, each parameter's ".momentum_buffer".
func (o *SGD) State() map[string]*tensor.Tensor {
	if o.cfg.Momentum == 0 {
		return o.saveState()
	}
	return o.saveState(o.buf)
}

// LoadState restores a State (see Optimizer).
func (o *SGD) LoadState(st map[string]*tensor.Tensor) error {
	if o.cfg.Momentum == 0 {
		return o.loadState("SGD", st)
	}
	return o.loadState("SGD", st, o.buf)
}
