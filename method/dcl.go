package method

import (
	"cmp"
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/loss"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/tensor"
)

// DCL is decoupled contrastive learning (Yeh et al., "Decoupled Contrastive Learning", ECCV
// 2022): SimCLR's two views through one encoder and head in one batch, with the positive pair
// removed from NT-Xent's denominator (loss.DCL). DCLW (registered as "dclw") weights each
// positive term with the negative von Mises–Fisher weighting of loss.DCLW:
//
//	z = g(f(x)) for x = [view1; view2];  loss = DCL(z, τ)  or  DCLW(z, τ, σ)
//
// Config: Temperature (τ, default 0.1 as in the paper; the CLI passes its own default), Sigma
// (σ, DCLW only, default 0.5).
type DCL struct {
	model *models.Model
	tau   float32
	sigma float32 // 0: DCL; > 0: DCLW
	dp    dataParallel
}

func init() { Register("dcl", Factory{DataParallel: true, New: newDCL(false)}) }

// newDCL returns the constructor of DCL (weighted false) or DCLW.
func newDCL(weighted bool) func(m *models.Model, cfg Config) (Method, error) {
	return func(m *models.Model, cfg Config) (Method, error) {
		name := map[bool]string{false: "dcl", true: "dclw"}[weighted]
		tau := cmp.Or(cfg.Temperature, 0.1)
		if !(tau > 0) {
			return nil, fmt.Errorf("%s: temperature %g must be positive", name, tau)
		}
		s := &DCL{model: m, tau: float32(tau), dp: newDataParallel(cfg)}
		if weighted {
			sigma := cmp.Or(cfg.Sigma, 0.5)
			if !(sigma > 0) {
				return nil, fmt.Errorf("dclw: sigma %g must be positive", sigma)
			}
			s.sigma = float32(sigma)
		}
		return s, nil
	}
}

// Loss implements Method.
func (s *DCL) Loss(b Batch) *autodiff.Var {
	if b.V != 2 {
		panic(fmt.Sprintf("method.DCL: need 2 views, got %d", b.V))
	}
	z := forward(s.dp, b.X.Tape(), func() *autodiff.Var { return s.model.Forward(b.X) })
	if s.dp.on() { // this rank's anchors against the global batch (loss.DCLGathered)
		c := s.dp.comm
		all := autodiff.AllGather(c, z)
		if s.sigma > 0 {
			return loss.DCLWGathered(all, c.Size(), c.Rank(), s.tau, s.sigma)
		}
		return loss.DCLGathered(all, c.Size(), c.Rank(), s.tau)
	}
	if s.sigma > 0 {
		return loss.DCLW(z, s.tau, s.sigma)
	}
	return loss.DCL(z, s.tau)
}

// Params implements Method.
func (s *DCL) Params() []*autodiff.Var { return s.model.Params() }

// AfterStep implements Method; DCL has nothing to do.
func (s *DCL) AfterStep(float64) {}

// Model implements Method.
func (s *DCL) Model() *models.Model { return s.model }

// State implements Method; DCL keeps no state beyond the model.
func (s *DCL) State() map[string]*tensor.Tensor { return nil }

// LoadState implements Method.
func (s *DCL) LoadState(map[string]*tensor.Tensor) error { return nil }
