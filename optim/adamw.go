package optim

import "github.com/contrastive-go/contrastive/autodiff"

// NewAdamW returns Adam with decoupled weight decay (Loshchilov & Hutter 2019; torch.optim.AdamW):
// the parameter decays directly instead of through the gradient, so the decay is not rescaled by
// the adaptive denominator. At step t:
//
//	w = w·(1 − η·λ)
//	m = β₁·m + (1−β₁)·∇,  v = β₂·v + (1−β₂)·∇²
//	w = w − η · (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)
//
// cfg.WeightDecay is λ (PyTorch's AdamW default is 0.01; here 0 means no decay). State as Adam.
func NewAdamW(params []*autodiff.Var, cfg AdamConfig) *Adam {
	return newAdam("AdamW", params, cfg, true)
}
