package method

import (
	"cmp"
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/loss"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/tensor"
)

// MoCoV3 is MoCo v3: an online encoder with projection head and predictor, a momentum encoder
// (the EMA of encoder and head, no predictor), and a symmetric in-batch contrastive loss — no
// queue.
//
// "An Empirical Study of Training Self-Supervised Vision Transformers", Chen, Xie, He, ICCV 2021
// (https://arxiv.org/abs/2104.02057), Algorithm 1. With q_v = pred(g(f(x_v))) and
// k_v = g_m(f_m(x_v)) (no gradient):
//
//	ctr(q, k) = 2τ · (1/N) Σ_i −log( exp(q̂_i·k̂_i/τ) / Σ_j exp(q̂_i·k̂_j/τ) )
//	loss      = ctr(q_1, k_2) + ctr(q_2, k_1)                              (τ default 0.2)
//	after each step:  θ_m ← m(t)·θ_m + (1−m(t))·θ,   m(t) = 1 − (1−m₀)(cos(πt)+1)/2
//
// t is the training progress in [0, 1], m₀ = Config.EMAMomentum (default 0.99). The cosine schedule
// is the official code's --moco-m-cos, used by its published recipes; set CosineMomentum to
// false for a constant m₀. Factory.Adjust adds an mlp2-bn predictor unless the model
// configuration has one. Both views go through each network in one batch, so BatchNorm
// statistics span both views (as SimCLR here; the official code uses SyncBN per view).
//
// State holds the momentum encoder ("momentum.…").
type MoCoV3 struct {
	model, target *models.Model
	tau, m0       float64
	dp            dataParallel
	// CosineMomentum selects the cosine momentum schedule (default true).
	CosineMomentum bool
}

func init() {
	Register("moco-v3", Factory{DataParallel: true, Adjust: withPredictor, New: func(m *models.Model, cfg Config) (Method, error) { return NewMoCoV3(m, cfg) }})
}

// NewMoCoV3 builds MoCo v3 around m, which must have a predictor.
func NewMoCoV3(m *models.Model, cfg Config) (*MoCoV3, error) {
	if m.Predictor == nil {
		return nil, fmt.Errorf("moco-v3: the model needs a predictor (build it from a config the factory's Adjust has changed)")
	}
	mom := cmp.Or(cfg.EMAMomentum, 0.99)
	if err := checkMomentum("moco-v3", mom); err != nil {
		return nil, err
	}
	tau := cmp.Or(cfg.Temperature, 0.2)
	if !(tau > 0) {
		return nil, fmt.Errorf("moco-v3: temperature %g must be positive", tau)
	}
	t, err := newTarget(m)
	if err != nil {
		return nil, fmt.Errorf("moco-v3: %w", err)
	}
	return &MoCoV3{model: m, target: t, tau: tau, m0: mom, CosineMomentum: true, dp: newDataParallel(cfg)}, nil
}

// Loss implements Method.
func (s *MoCoV3) Loss(b Batch) *autodiff.Var {
	if b.V < 2 {
		panic(fmt.Sprintf("method.MoCoV3: need 2 views, got %d", b.V))
	}
	tp := b.X.Tape()
	p := forward(s.dp, tp, func() *autodiff.Var { return s.model.Predict(s.model.Forward(b.X)) })
	k := forward(s.dp, tp, func() *autodiff.Var { return noGrad(tp, func() *autodiff.Var { return s.target.Forward(b.X) }) })
	// In-batch keys: the global batch's, every rank computing the global loss.
	p, k = s.dp.gatherViews(p, 2), s.dp.gatherViews(k, 2)
	n := p.Shape()[0] / 2
	return loss.MoCoV3(autodiff.Slice(p, 0, 0, n), autodiff.Slice(p, 0, n, 2*n),
		autodiff.Slice(k, 0, 0, n), autodiff.Slice(k, 0, n, 2*n), float32(s.tau))
}

// Momentum returns the EMA momentum used after a step at the given progress.
func (s *MoCoV3) Momentum(progress float64) float64 {
	if !s.CosineMomentum {
		return s.m0
	}
	return cosineMomentum(s.m0, progress)
}

// Params implements Method: the online encoder, head and predictor.
func (s *MoCoV3) Params() []*autodiff.Var { return s.model.Params() }

// AfterStep implements Method: the momentum update.
func (s *MoCoV3) AfterStep(progress float64) {
	models.EMAUpdate(s.target, s.model, float32(s.Momentum(progress)))
}

// Model implements Method.
func (s *MoCoV3) Model() *models.Model { return s.model }

// MomentumEncoder returns the momentum encoder (encoder and head, no predictor).
func (s *MoCoV3) MomentumEncoder() *models.Model { return s.target }

// State implements Method: the momentum encoder under "momentum.".
func (s *MoCoV3) State() map[string]*tensor.Tensor {
	st := map[string]*tensor.Tensor{}
	modelState("momentum", s.target, st)
	return st
}

// LoadState implements Method.
func (s *MoCoV3) LoadState(st map[string]*tensor.Tensor) error {
	if err := checkKeys(st, []string{"momentum"}); err != nil {
		return fmt.Errorf("moco-v3: %w", err)
	}
	if err := loadModelState("momentum", s.target, st); err != nil {
		return fmt.Errorf("moco-v3: %w", err)
	}
	return nil
}
