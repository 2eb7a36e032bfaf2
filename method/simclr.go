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

// SimCLR (Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations",
// ICML 2020): both views go through the same encoder and projection head in one batch, and the
// loss is NT-Xent over the 2N projections with in-batch negatives:
//
//	z = g(f(x)) for x = [view1; view2];  loss = NTXent(z, τ)   (τ default 0.5)
//
// With multi-crop's local views (Batch.Local, their own forward pass since their size differs)
// the loss is the multi-view NT-Xent over all 2+L views: loss.SupCon with every image its own
// class, where each view's positives are the other views of its image (exactly NTXent at L = 0);
// on several ranks, that of the global batch's views gathered with gradient, as SupCon's.
type SimCLR struct {
	model *models.Model
	tau   float32
	dp    dataParallel
}

func init() {
	Register("simclr", Factory{DataParallel: true, MultiCrop: true, New: func(m *models.Model, cfg Config) (Method, error) { return NewSimCLR(m, cfg) }})
}

// NewSimCLR trains m with NT-Xent at cfg.Temperature (default 0.5).
func NewSimCLR(m *models.Model, cfg Config) (*SimCLR, error) {
	tau := cmp.Or(cfg.Temperature, 0.5)
	if !(tau > 0) || math.IsInf(tau, 0) {
		return nil, fmt.Errorf("simclr: temperature %g must be a finite number > 0", tau)
	}
	return &SimCLR{model: m, tau: float32(tau), dp: newDataParallel(cfg)}, nil
}

// Loss implements Method.
func (s *SimCLR) Loss(b Batch) *autodiff.Var {
	if b.L > 0 { // multi-crop: every view of an image is a positive of the others
		z := forward(s.dp, b.X.Tape(), func() [2]*autodiff.Var { return [2]*autodiff.Var{s.model.Forward(b.X), s.model.Forward(b.Local)} })
		n := b.N
		if s.dp.on() { // the global batch's views, gathered as SupCon's
			n *= s.dp.comm.Size()
		}
		return loss.SupCon(autodiff.Concat(0, s.dp.gatherViews(z[0], b.V), s.dp.gatherViews(z[1], b.L)), instanceLabels(n), s.tau, s.tau)
	}
	z := forward(s.dp, b.X.Tape(), func() *autodiff.Var { return s.model.Forward(b.X) })
	if !s.dp.on() {
		return loss.NTXent(z, s.tau)
	}
	c := s.dp.comm
	return loss.NTXentGathered(autodiff.AllGather(c, z), c.Size(), c.Rank(), s.tau)
}

// Params implements Method.
func (s *SimCLR) Params() []*autodiff.Var { return s.model.Params() }

// AfterStep implements Method; SimCLR has nothing to do.
func (s *SimCLR) AfterStep(float64) {}

// Model implements Method.
func (s *SimCLR) Model() *models.Model { return s.model }

// State implements Method; SimCLR keeps no state beyond the model.
func (s *SimCLR) State() map[string]*tensor.Tensor { return nil }

// LoadState implements Method.
func (s *SimCLR) LoadState(map[string]*tensor.Tensor) error { return nil }
