package method

import (
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/loss"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/tensor"
)

// VICReg is Variance-Invariance-Covariance Regularisation: the two views' embeddings are pulled
// together (invariance) while each dimension keeps a standard deviation of at least 1 over the
// batch (variance) and the dimensions are decorrelated (covariance).
//
// "VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised Learning", Bardes,
// Ponce, LeCun, ICLR 2022 (https://arxiv.org/abs/2105.04906). With z_v = g(f(x_v)):
//
//	loss = λ·inv(z_1, z_2) + μ·[var(z_1) + var(z_2)]/2 + ν·[cov(z_1) + cov(z_2)]
//	inv = mean squared difference, var = mean_j max(0, 1 − sqrt(Var_j + 1e-4)),
//	cov = Σ_{j≠k} C_jk² / D                        (λ = 25, μ = 25, ν = 1, the paper's values)
//
// (see loss.VICReg for the exact definitions). Both views go through the network in one batch.
type VICReg struct {
	model *models.Model
	dp    dataParallel
}

func init() {
	Register("vicreg", Factory{DataParallel: true, New: func(m *models.Model, cfg Config) (Method, error) { return NewVICReg(m, cfg) }})
}

// NewVICReg trains m with VICReg at the paper's weights (λ = μ = 25, ν = 1); cfg carries only
// the data-parallel settings.
func NewVICReg(m *models.Model, cfg Config) (*VICReg, error) {
	return &VICReg{model: m, dp: newDataParallel(cfg)}, nil
}

// Loss implements Method.
func (s *VICReg) Loss(b Batch) *autodiff.Var {
	if b.V < 2 {
		panic(fmt.Sprintf("method.VICReg: need 2 views, got %d", b.V))
	}
	z := forward(s.dp, b.X.Tape(), func() *autodiff.Var { return s.model.Forward(b.X) })
	z = s.dp.gatherViews(z, 2) // the global batch's statistics
	n := z.Shape()[0] / 2
	return loss.VICReg(autodiff.Slice(z, 0, 0, n), autodiff.Slice(z, 0, n, 2*n), 25, 25, 1)
}

// Params implements Method.
func (s *VICReg) Params() []*autodiff.Var { return s.model.Params() }

// AfterStep implements Method; VICReg has nothing to do.
func (s *VICReg) AfterStep(float64) {}

// Model implements Method.
func (s *VICReg) Model() *models.Model { return s.model }

// State implements Method; VICReg keeps no state beyond the model.
func (s *VICReg) State() map[string]*tensor.Tensor { return nil }

// LoadState implements Method.
func (s *VICReg) LoadState(map[string]*tensor.Tensor) error { return nil }
