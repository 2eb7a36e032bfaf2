package method

import (
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/loss"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/tensor"
)

// SimSiam is Simple Siamese representation learning: one network (encoder, projection head,
// predictor) for both views, a stop-gradient on the projection side, no negatives and no momentum
// encoder.
//
// "Exploring Simple Siamese Representation Learning", Chen, He, CVPR 2021
// (https://arxiv.org/abs/2011.10566), Algorithm 1. With z_v = g(f(x_v)), p_v = h(z_v) and
// D(p, z) = −cos(p, z):
//
//	loss = ½ D(p_1, stopgrad(z_2)) + ½ D(p_2, stopgrad(z_1))        ∈ [−1, 1], −1 at the optimum
//
// computed from loss.NegativeCosine (2 − 2cos) as (NC(p_1, z_2) + NC(p_2, z_1))/4 − 1, so the
// value reported is the paper's. Without the stop-gradient SimSiam collapses. Factory.Adjust adds
// an mlp2-bn predictor unless the model configuration has one (the paper's predictor is a
// bottleneck, hidden = out/4: set Config.Predictor.Hidden for that). Both views go through the
// network in one batch.
type SimSiam struct {
	model *models.Model
	dp    dataParallel
}

func init() {
	Register("simsiam", Factory{DataParallel: true, Adjust: withPredictor, New: func(m *models.Model, cfg Config) (Method, error) { return NewSimSiam(m, cfg) }})
}

// NewSimSiam builds SimSiam around m, which must have a predictor.
func NewSimSiam(m *models.Model, cfg Config) (*SimSiam, error) {
	if m.Predictor == nil {
		return nil, fmt.Errorf("simsiam: the model needs a predictor (build it from a config the factory's Adjust has changed)")
	}
	return &SimSiam{model: m, dp: newDataParallel(cfg)}, nil
}

// Loss implements Method.
func (s *SimSiam) Loss(b Batch) *autodiff.Var {
	if b.V < 2 {
		panic(fmt.Sprintf("method.SimSiam: need 2 views, got %d", b.V))
	}
	n := b.N
	z := forward(s.dp, b.X.Tape(), func() *autodiff.Var { return s.model.Forward(b.X) })
	p := forward(s.dp, b.X.Tape(), func() *autodiff.Var { return s.model.Predict(z) })
	// NegativeCosine treats its second argument as stop-gradient.
	nc := autodiff.Add(
		loss.NegativeCosine(autodiff.Slice(p, 0, 0, n), autodiff.Slice(z, 0, n, 2*n)),
		loss.NegativeCosine(autodiff.Slice(p, 0, n, 2*n), autodiff.Slice(z, 0, 0, n)))
	return autodiff.Add(autodiff.Scale(nc, 0.25), b.X.Tape().Constant(tensor.Scalar(-1)))
}

// Params implements Method.
func (s *SimSiam) Params() []*autodiff.Var { return s.model.Params() }

// AfterStep implements Method; SimSiam has nothing to do.
func (s *SimSiam) AfterStep(float64) {}

// Model implements Method.
func (s *SimSiam) Model() *models.Model { return s.model }

// State implements Method; SimSiam keeps no state beyond the model.
func (s *SimSiam) State() map[string]*tensor.Tensor { return nil }

// LoadState implements Method.
func (s *SimSiam) LoadState(map[string]*tensor.Tensor) error { return nil }
