package method

import (
	"cmp"
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/loss"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/parallel"
	"github.com/contrastive-go/contrastive/tensor"
)

// NNCLR is nearest-neighbour contrastive learning: the positive of a view is not the other view
// of its image but the nearest neighbour of its projection in a support set of past projections,
// contrasted with the prediction of the other view.
//
// "With a Little Help from My Friends: Nearest-Neighbor Contrastive Learning of Visual
// Representations", Dwibedi, Aytar, Tompson, Sermanet, Zisserman, ICCV 2021
// (https://arxiv.org/abs/2104.14548). With z_v = g(f(x_v)) the projections, p_v = q(z_v) the
// predictions, Q the support set ([K, D], unit rows) and NN(z) = argmax_{q ∈ Q} ẑ·q (no gradient):
//
//	loss = ½ ℓ(NN(z_1), p_2) + ½ ℓ(NN(z_2), p_1)          (loss.NNCLR; τ default 0.1)
//	after each step: enqueue ẑ_1 (FIFO), dequeue the oldest N
//
// Only view 1's projections enter the support set, one per image, so it holds K distinct images
// (as lightly's NNMemoryBankModule, updated from one view). The support set starts as random unit
// vectors drawn from Config.Seed (as VISSL's), so the first K/N steps contrast with random
// anchors until the set has filled with projections. Factory.Adjust adds an mlp2-bn predictor
// unless the model configuration has one (the paper's prediction MLP). Both views go through
// the network in one batch.
//
// Data-parallel (Config.Comm): the support set is fed with every rank's view-1 projections
// (gathered, rank order), so it is the same on every rank and the one process's; each rank
// finds its own images' neighbours there, and the contrast runs over the global batch (the
// neighbours and predictions of every rank gathered, the predictions with gradient).
//
// State holds the support set and its pointer. Config: Temperature (τ, default 0.1), QueueSize
// (K, default 4096; the paper's ImageNet runs use 98,304), Seed.
type NNCLR struct {
	model   *models.Model
	tau     float32
	support *tensor.Tensor // [K, D], unit rows
	ptr     int
	pending *tensor.Tensor // [N, D] unit projections of view 1 from the last Loss (global batch)
	dp      dataParallel
}

func init() {
	Register("nnclr", Factory{DataParallel: true, Adjust: withPredictor, New: func(m *models.Model, cfg Config) (Method, error) { return NewNNCLR(m, cfg) }})
}

// NewNNCLR builds NNCLR around m, which must have a predictor.
func NewNNCLR(m *models.Model, cfg Config) (*NNCLR, error) {
	if m.Predictor == nil {
		return nil, fmt.Errorf("nnclr: the model needs a predictor (build it from a config the factory's Adjust has changed)")
	}
	k := cfg.QueueSize
	if k == 0 {
		k = 4096
	}
	if k < 1 {
		return nil, fmt.Errorf("nnclr: support set size %d must be positive", k)
	}
	tau := cmp.Or(cfg.Temperature, 0.1)
	if !(tau > 0) {
		return nil, fmt.Errorf("nnclr: temperature %g must be positive", tau)
	}
	return &NNCLR{model: m, tau: float32(tau), support: randomUnitRows(k, m.ProjDim, cfg.Seed^0x6e6e636c72), dp: newDataParallel(cfg)}, nil
}

// Loss implements Method.
func (s *NNCLR) Loss(b Batch) *autodiff.Var {
	if b.V != 2 {
		panic(fmt.Sprintf("method.NNCLR: need 2 views, got %d", b.V))
	}
	n, tp := b.N, b.X.Tape()
	zp := forward(s.dp, tp, func() [2]*autodiff.Var {
		z := s.model.Forward(b.X)
		return [2]*autodiff.Var{z, s.model.Predict(z)}
	})
	z, p := zp[0], zp[1]
	unit := tp.Alloc(false, 2*n, s.model.ProjDim)
	copy(unit.Data, z.Value.Data)
	d := s.model.ProjDim
	for i := range 2 * n {
		normalizeRow(unit.Data[i*d : (i+1)*d])
	}
	nn := tp.Constant(s.nearest(tp, unit))
	s.keep(unit, n)
	if s.dp.on() {
		// The loss of the global batch on every rank: the neighbours (constants, each rank's
		// own against the shared support set) and the predictions (with gradient) gathered
		// into the one-process layout, as Barlow Twins' projections.
		nn, p = s.dp.gatherViews(nn, 2), s.dp.gatherViews(p, 2)
		n *= s.dp.comm.Size()
	}
	return loss.NNCLR(autodiff.Slice(nn, 0, 0, n), autodiff.Slice(nn, 0, n, 2*n),
		autodiff.Slice(p, 0, 0, n), autodiff.Slice(p, 0, n, 2*n), s.tau)
}

// nearest returns, for each unit row of u ([M, D]), the support row of largest dot product.
func (s *NNCLR) nearest(tp *autodiff.Tape, u *tensor.Tensor) *tensor.Tensor {
	m, d, k := u.Shape[0], u.Shape[1], s.support.Shape[0]
	sim := tp.Alloc(false, m, k).Data
	blas.Sgemm(false, true, m, k, d, 1, u.Data, d, s.support.Data, d, 0, sim, k)
	out := tp.Alloc(false, m, d)
	parallel.For(m, max(1, (1<<14)/k), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := sim[i*k : (i+1)*k]
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			copy(out.Data[i*d:(i+1)*d], s.support.Data[best*d:(best+1)*d])
		}
	})
	return out
}

// keep stores the first n unit rows of u (view 1) for AfterStep's enqueue; on several ranks,
// those of every rank in rank order (the global batch's view 1), so every rank's support set
// receives the same rows as one process's would.
func (s *NNCLR) keep(u *tensor.Tensor, n int) {
	d := u.Shape[1]
	rows := n
	if s.dp.on() {
		rows *= s.dp.comm.Size()
	}
	if s.pending == nil || s.pending.Shape[0] != rows {
		s.pending = tensor.New(rows, d)
	}
	if s.dp.on() {
		s.dp.comm.AllGather(s.pending.Data, u.Data[:n*d])
		return
	}
	copy(s.pending.Data, u.Data[:n*d])
}

// Params implements Method: the encoder, head and predictor.
func (s *NNCLR) Params() []*autodiff.Var { return s.model.Params() }

// AfterStep implements Method: the support set's FIFO update with the last Loss's view-1
// projections.
func (s *NNCLR) AfterStep(float64) {
	if s.pending == nil {
		return
	}
	k, d := s.support.Shape[0], s.support.Shape[1]
	for i := range s.pending.Shape[0] {
		copy(s.support.Data[s.ptr*d:(s.ptr+1)*d], s.pending.Data[i*d:(i+1)*d])
		s.ptr = (s.ptr + 1) % k
	}
	s.pending = nil
}

// Model implements Method.
func (s *NNCLR) Model() *models.Model { return s.model }

// Support returns the support set, [K, D] (the method's own tensor: do not modify).
func (s *NNCLR) Support() *tensor.Tensor { return s.support }

// State implements Method: "support" and "support_ptr".
func (s *NNCLR) State() map[string]*tensor.Tensor {
	return map[string]*tensor.Tensor{"support": s.support.Clone(), "support_ptr": u64Tensor(uint64(s.ptr))}
}

// LoadState implements Method. It fails, changing nothing, on a state of another shape.
func (s *NNCLR) LoadState(st map[string]*tensor.Tensor) error {
	if err := checkKeys(st, nil, "support", "support_ptr"); err != nil {
		return fmt.Errorf("nnclr: %w", err)
	}
	q := st["support"]
	if q == nil || !tensor.SameShape(q.Shape, s.support.Shape) {
		var shape any = "none"
		if q != nil {
			shape = q.Shape
		}
		return fmt.Errorf("nnclr: state support set has shape %v, want %v (another --queue-size or projection width?)", shape, s.support.Shape)
	}
	ptr, err := tensorU64("support_ptr", st["support_ptr"])
	if err != nil {
		return fmt.Errorf("nnclr: %w", err)
	}
	if ptr >= uint64(s.support.Shape[0]) {
		return fmt.Errorf("nnclr: support pointer %d outside a set of %d", ptr, s.support.Shape[0])
	}
	copy(s.support.Data, q.Data)
	s.ptr, s.pending = int(ptr), nil
	return nil
}
