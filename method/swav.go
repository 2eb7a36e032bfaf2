package method

import (
	"cmp"
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/loss"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/tensor"
)

// SwAV is swapping assignments between views: projections are scored against K trainable
// prototypes, each global view's scores are turned into balanced codes by Sinkhorn–Knopp, and
// every view predicts the codes of the other views.
//
// "Unsupervised Learning of Visual Features by Contrasting Cluster Assignments", Caron, Misra,
// Mairal, Goyal, Bojanowski, Joulin, NeurIPS 2020 (https://arxiv.org/abs/2006.09882). With
// z_v = g(f(x_v)) for the 2 global views and any multi-crop local views, ẑ the unit projections
// and C the prototypes ([K, D], unit rows):
//
//	s_v  = ẑ_v·Cᵀ                                  (scores, [N, K] per view)
//	q_g  = Sinkhorn(s_g, ε = 0.05, 3 iterations)   (codes of the global views, no gradient)
//	loss = loss.SwAV(s, q, τ)                      (each view predicts the other views' codes)
//	after each step: C's rows are renormalised to unit length
//
// Choices, and why:
//
//   - The prototypes are frozen (a constant in the loss) for the first FreezeSteps steps, as the
//     official code's freeze_prototypes_niters (313), which keeps them from chasing the random
//     early projections.
//   - No queue of past projections: the paper adds one for batches below 256 with many
//     prototypes; at batch 256 and the default K = 300 the batch alone balances the codes.
//   - Local views go through the network in their own forward pass (their size differs), so
//     BatchNorm statistics are per resolution, as the official MultiCropWrapper does.
//
// Data-parallel (Config.Comm): Sinkhorn–Knopp runs over the global batch, its sums all-reduced
// in every iteration (loss.SinkhornGlobal, the official distributed_sinkhorn), so every rank's
// codes are those one process would give its images; each rank's loss is the swapped
// prediction of its own images, whose mean over the ranks is the global loss, and the
// prototypes' gradient is averaged with the others.
//
// Config: Temperature (τ, default 0.1), Prototypes (K, default 300), Seed (the prototypes'
// initial random unit rows). State holds the prototypes and the step counter.
type SwAV struct {
	model      *models.Model
	prototypes *autodiff.Var // [K, D], unit rows
	tau        float32
	// Eps and Iters are Sinkhorn's ε and number of iterations.
	Eps   float64
	Iters int
	// FreezeSteps is the number of first steps during which the prototypes do not learn.
	FreezeSteps int
	steps       int
	dp          dataParallel
}

func init() {
	Register("swav", Factory{DataParallel: true, MultiCrop: true, New: func(m *models.Model, cfg Config) (Method, error) { return NewSwAV(m, cfg) }})
}

// NewSwAV builds SwAV around m; see SwAV for the defaults.
func NewSwAV(m *models.Model, cfg Config) (*SwAV, error) {
	tau := cmp.Or(cfg.Temperature, 0.1)
	if !(tau > 0) {
		return nil, fmt.Errorf("swav: temperature %g must be positive", tau)
	}
	k := cfg.Prototypes
	if k == 0 {
		k = 300
	}
	if k < 2 {
		return nil, fmt.Errorf("swav: %d prototypes; want at least 2", k)
	}
	p := autodiff.Param(randomUnitRows(k, m.ProjDim, cfg.Seed^0x73776176))
	p.Name = "swav.prototypes"
	return &SwAV{model: m, prototypes: p, tau: float32(tau), Eps: 0.05, Iters: 3, FreezeSteps: 313, dp: newDataParallel(cfg)}, nil
}

// Loss implements Method.
func (s *SwAV) Loss(b Batch) *autodiff.Var {
	if b.V != 2 {
		panic(fmt.Sprintf("method.SwAV: need 2 global views, got %d", b.V))
	}
	tp, n := b.X.Tape(), b.N
	parts := forward(s.dp, tp, func() []*autodiff.Var {
		var parts []*autodiff.Var
		for _, x := range allViews(b) {
			parts = append(parts, s.model.Forward(x))
		}
		return parts
	})
	z := parts[0]
	if len(parts) > 1 {
		z = autodiff.Concat(0, parts...)
	}
	c := s.prototypes
	if s.steps < s.FreezeSteps {
		c = tp.Constant(s.prototypes.Value)
	}
	scores := autodiff.Linear(autodiff.L2Normalize(z, 1e-12), c, nil)
	k := s.prototypes.Value.Shape[0]
	q := tp.Alloc(false, 2*n, k)
	for g := range 2 {
		view := scores.Value.Data[g*n*k : (g+1)*n*k]
		var codes *tensor.Tensor
		if s.dp.on() { // the codes of the global batch (distributed_sinkhorn)
			codes = loss.SinkhornGlobal(view, n, k, s.Eps, s.Iters, n*s.dp.comm.Size(), s.dp.logSumExp)
		} else {
			codes = loss.Sinkhorn(view, n, k, s.Eps, s.Iters)
		}
		copy(q.Data[g*n*k:], codes.Data)
	}
	return loss.SwAV(scores, q, n, s.tau)
}

// Params implements Method: the model's and the prototypes.
func (s *SwAV) Params() []*autodiff.Var { return append(s.model.Params(), s.prototypes) }

// AfterStep implements Method: the prototypes back onto the unit sphere.
func (s *SwAV) AfterStep(float64) {
	p := s.prototypes.Value
	d := p.Shape[1]
	for i := range p.Shape[0] {
		normalizeRow(p.Data[i*d : (i+1)*d])
	}
	s.steps++
}

// Model implements Method.
func (s *SwAV) Model() *models.Model { return s.model }

// Prototypes returns the prototypes, [K, D] (the method's own parameter).
func (s *SwAV) Prototypes() *autodiff.Var { return s.prototypes }

// State implements Method: "prototypes" and "steps".
func (s *SwAV) State() map[string]*tensor.Tensor {
	return map[string]*tensor.Tensor{"prototypes": s.prototypes.Value.Clone(), "steps": u64Tensor(uint64(s.steps))}
}

// LoadState implements Method. It fails, changing nothing, on a state of another shape.
func (s *SwAV) LoadState(st map[string]*tensor.Tensor) error {
	if err := checkKeys(st, nil, "prototypes", "steps"); err != nil {
		return fmt.Errorf("swav: %w", err)
	}
	p := st["prototypes"]
	if p == nil || !tensor.SameShape(p.Shape, s.prototypes.Value.Shape) {
		var shape any = "none"
		if p != nil {
			shape = p.Shape
		}
		return fmt.Errorf("swav: state prototypes have shape %v, want %v (another --prototypes or projection width?)", shape, s.prototypes.Value.Shape)
	}
	steps, err := tensorU64("steps", st["steps"])
	if err != nil {
		return fmt.Errorf("swav: %w", err)
	}
	copy(s.prototypes.Value.Data, p.Data)
	s.steps = int(steps)
	return nil
}
