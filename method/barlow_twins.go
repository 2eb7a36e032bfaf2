package method

import (
	"cmp"
	"fmt"
	"math"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/loss"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/tensor"
)

// BarlowTwins makes the cross-correlation of the two views' projections close to the identity.
//
// "Barlow Twins: Self-Supervised Learning via Redundancy Reduction", Zbontar, Jing, Misra, LeCun,
// Deny, ICML 2021 (https://arxiv.org/abs/2103.03230), equation 1. With z_v = g(f(x_v)), each
// standardised per dimension over the batch (zn), and c = zn_1ᵀ·zn_2 / N:
//
//	loss = Σ_i (1 − c_ii)² + λ·Σ_{i≠j} c_ij²        (λ = Config.Lambda, default 0.0051)
//
// Both views go through the network in one batch (BatchNorm statistics over both views, as
// SimCLR here); the loss standardises each view on its own. The paper's projector is wide
// (8192); λ ≈ 1/D, so with a narrow head a larger λ may suit better.
type BarlowTwins struct {
	model  *models.Model
	lambda float32
	dp     dataParallel
}

func init() {
	Register("barlow-twins", Factory{DataParallel: true, New: func(m *models.Model, cfg Config) (Method, error) { return NewBarlowTwins(m, cfg) }})
}

// NewBarlowTwins trains m with the Barlow Twins loss at off-diagonal weight cfg.Lambda (default
// 0.0051).
func NewBarlowTwins(m *models.Model, cfg Config) (*BarlowTwins, error) {
	lambda := cmp.Or(cfg.Lambda, 0.0051)
	if !(lambda >= 0) || math.IsInf(lambda, 0) {
		return nil, fmt.Errorf("barlow-twins: lambda %g must be a finite number >= 0", lambda)
	}
	return &BarlowTwins{model: m, lambda: float32(lambda), dp: newDataParallel(cfg)}, nil
}

// Loss implements Method.
func (s *BarlowTwins) Loss(b Batch) *autodiff.Var {
	if b.V < 2 {
		panic(fmt.Sprintf("method.BarlowTwins: need 2 views, got %d", b.V))
	}
	z := forward(s.dp, b.X.Tape(), func() *autodiff.Var { return s.model.Forward(b.X) })
	z = s.dp.gatherViews(z, 2) // the global batch's statistics
	n := z.Shape()[0] / 2
	return loss.BarlowTwins(autodiff.Slice(z, 0, 0, n), autodiff.Slice(z, 0, n, 2*n), s.lambda)
}

// Params implements Method.
func (s *BarlowTwins) Params() []*autodiff.Var { return s.model.Params() }

// AfterStep implements Method; Barlow Twins has nothing to do.
func (s *BarlowTwins) AfterStep(float64) {}

// Model implements Method.
func (s *BarlowTwins) Model() *models.Model { return s.model }

// State implements Method; Barlow Twins keeps no state beyond the model.
func (s *BarlowTwins) State() map[string]*tensor.Tensor { return nil }

// LoadState implements Method.
func (s *BarlowTwins) LoadState(map[string]*tensor.Tensor) error { return nil }
