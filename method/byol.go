package method

import (
	"cmp"
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/loss"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/tensor"
)

// BYOL is Bootstrap Your Own Latent: an online network (encoder, projection head, predictor)
// regresses the projection of the other view computed by a target network, the exponential
// moving average of the online encoder and head; no negatives.
//
// "Bootstrap Your Own Latent: A New Approach to Self-Supervised Learning", Grill et al.,
// NeurIPS 2020 (https://arxiv.org/abs/2006.07733), equations 2 and the symmetrised 3. With
// p_v = q(g(f(x_v))) and z'_v = g_ξ(f_ξ(x_v)) (target network, no gradient):
//
//	L    = ‖p̂_1 − ẑ'_2‖² + ‖p̂_2 − ẑ'_1‖²  = (2 − 2cos(p_1, z'_2)) + (2 − 2cos(p_2, z'_1))
//	     (each term averaged over the batch: loss.NegativeCosine, which is the 2 − 2cos form)
//	after each step:  ξ ← τ(t)·ξ + (1−τ(t))·θ,   τ(t) = 1 − (1−τ_base)(cos(πt)+1)/2
//
// t is the training progress in [0, 1]; τ_base = Config.EMAMomentum (default 0.99; the paper uses
// 0.996 for ImageNet). The loss lies in [0, 8]. Factory.Adjust adds an mlp2-bn predictor unless
// the model configuration has one. Both views go through each network in one batch (BatchNorm
// statistics over both views, as SimCLR here).
//
// State holds the target network ("target.…").
type BYOL struct {
	model, target *models.Model
	base          float64
	dp            dataParallel
}

func init() {
	Register("byol", Factory{DataParallel: true, Adjust: withPredictor, New: func(m *models.Model, cfg Config) (Method, error) { return NewBYOL(m, cfg) }})
}

// NewBYOL builds BYOL around m, which must have a predictor.
func NewBYOL(m *models.Model, cfg Config) (*BYOL, error) {
	if m.Predictor == nil {
		return nil, fmt.Errorf("byol: the model needs a predictor (build it from a config the factory's Adjust has changed)")
	}
	base := cmp.Or(cfg.EMAMomentum, 0.99)
	if err := checkMomentum("byol", base); err != nil {
		return nil, err
	}
	t, err := newTarget(m)
	if err != nil {
		return nil, fmt.Errorf("byol: %w", err)
	}
	return &BYOL{model: m, target: t, base: base, dp: newDataParallel(cfg)}, nil
}

// Loss implements Method.
func (s *BYOL) Loss(b Batch) *autodiff.Var {
	if b.V < 2 {
		panic(fmt.Sprintf("method.BYOL: need 2 views, got %d", b.V))
	}
	n := b.N
	tp := b.X.Tape()
	p := forward(s.dp, tp, func() *autodiff.Var { return s.model.Predict(s.model.Forward(b.X)) })
	z := forward(s.dp, tp, func() *autodiff.Var { return noGrad(tp, func() *autodiff.Var { return s.target.Forward(b.X) }) })
	return autodiff.Add(
		loss.NegativeCosine(autodiff.Slice(p, 0, 0, n), autodiff.Slice(z, 0, n, 2*n)),
		loss.NegativeCosine(autodiff.Slice(p, 0, n, 2*n), autodiff.Slice(z, 0, 0, n)))
}

// Momentum returns the target's EMA rate τ(t) after a step at the given progress.
func (s *BYOL) Momentum(progress float64) float64 { return cosineMomentum(s.base, progress) }

// Params implements Method: the online encoder, head and predictor.
func (s *BYOL) Params() []*autodiff.Var { return s.model.Params() }

// AfterStep implements Method: the target network's update.
func (s *BYOL) AfterStep(progress float64) {
	models.EMAUpdate(s.target, s.model, float32(s.Momentum(progress)))
}

// Model implements Method.
func (s *BYOL) Model() *models.Model { return s.model }

// Target returns the target network (encoder and head, no predictor).
func (s *BYOL) Target() *models.Model { return s.target }

// State implements Method: the target network under "target.".
func (s *BYOL) State() map[string]*tensor.Tensor {
	st := map[string]*tensor.Tensor{}
	modelState("target", s.target, st)
	return st
}

// LoadState implements Method.
func (s *BYOL) LoadState(st map[string]*tensor.Tensor) error {
	if err := checkKeys(st, []string{"target"}); err != nil {
		return fmt.Errorf("byol: %w", err)
	}
	if err := loadModelState("target", s.target, st); err != nil {
		return fmt.Errorf("byol: %w", err)
	}
	return nil
}
