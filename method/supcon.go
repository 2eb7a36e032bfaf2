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

// SupCon is supervised contrastive learning: every view of every image with the same label is a
// positive, all other views are negatives.
//
// "Supervised Contrastive Learning", Khosla et al., NeurIPS 2020
// (https://arxiv.org/abs/2004.11362), equation 2 (L_out). With z = g(f(x)) for the V·N views
// (view-major, as NT-Xent), u = z/‖z‖, A(a) every row but a and P(a) the rows of a's label:
//
//	loss = mean_a −(1/|P(a)|) Σ_{p∈P(a)} log( exp(u_a·u_p/τ) / Σ_{b∈A(a)} exp(u_a·u_b/τ) )
//
// τ = Config.Temperature, default 0.1 (and τ_base = τ: the plain L_out). The factory's
// NeedsLabels is true: the trainer checks that the data set has labels before training. An
// image whose label is unknown (negative, e.g. −1) counts as a class of its own, so its only
// positives are its other views and its term is NT-Xent's; with no labels at all (nil) SupCon is
// SimCLR's loss. A Labels slice of another length than N panics (a programming error).
type SupCon struct {
	model  *models.Model
	tau    float32
	labels []int
	dp     dataParallel
}

func init() {
	Register("supcon", Factory{DataParallel: true, NeedsLabels: true, New: func(m *models.Model, cfg Config) (Method, error) { return NewSupCon(m, cfg) }})
}

// NewSupCon trains m with the supervised contrastive loss at cfg.Temperature (default 0.1); every
// batch must carry labels.
func NewSupCon(m *models.Model, cfg Config) (*SupCon, error) {
	tau := cmp.Or(cfg.Temperature, 0.1)
	if !(tau > 0) || math.IsInf(tau, 0) {
		return nil, fmt.Errorf("supcon: temperature %g must be a finite number > 0", tau)
	}
	return &SupCon{model: m, tau: float32(tau), dp: newDataParallel(cfg)}, nil
}

// Loss implements Method.
func (s *SupCon) Loss(b Batch) *autodiff.Var {
	if b.Labels != nil && len(b.Labels) != b.N {
		panic(fmt.Sprintf("method.SupCon: %d labels for a batch of %d images", len(b.Labels), b.N))
	}
	labels, n := b.Labels, b.N
	if s.dp.on() { // the global batch's labels, in rank order
		labels = s.dp.gatherLabels(b.Labels, b.N)
		n = len(labels)
	}
	s.labels = supConLabels(s.labels, labels, n)
	z := forward(s.dp, b.X.Tape(), func() *autodiff.Var { return s.model.Forward(b.X) })
	return loss.SupCon(s.dp.gatherViews(z, b.V), s.labels, s.tau, s.tau)
}

// supConLabels fills dst (reused) with labels, replacing every unknown (negative or missing)
// label by a distinct negative value, which no known (non-negative) label can equal.
func supConLabels(dst, labels []int, n int) []int {
	dst = append(dst[:0], make([]int, n)...)
	for i := range n {
		if labels != nil && labels[i] >= 0 {
			dst[i] = labels[i]
		} else {
			dst[i] = -1 - i
		}
	}
	return dst
}

// Params implements Method.
func (s *SupCon) Params() []*autodiff.Var { return s.model.Params() }

// AfterStep implements Method; SupCon has nothing to do.
func (s *SupCon) AfterStep(float64) {}

// Model implements Method.
func (s *SupCon) Model() *models.Model { return s.model }

// State implements Method; SupCon keeps no state beyond the model.
func (s *SupCon) State() map[string]*tensor.Tensor { return nil }

// LoadState implements Method.
func (s *SupCon) LoadState(map[string]*tensor.Tensor) error { return nil }
