package method

import (
	"cmp"
	"fmt"
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/vec"
	"github.com/contrastive-go/contrastive/loss"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/tensor"
)

// MoCoV2 is Momentum Contrast with the v2 improvements: a query encoder (the model: encoder and
// its projection head, as configured), a key encoder that is an exponential moving average of
// it, and a FIFO queue of K past keys as negatives, trained with InfoNCE.
//
// "Momentum Contrast for Unsupervised Visual Representation Learning", He, Fan, Wu, Xie,
// Girshick, CVPR 2020 (https://arxiv.org/abs/1911.05722); "Improved Baselines with Momentum
// Contrastive Learning", Chen, Fan, Girshick, He, 2020 (https://arxiv.org/abs/2003.04297).
//
// With q_v = g(f(x_v)) the queries and k_v = g_k(f_k(x_v)) the keys of view v (keys computed
// without gradient), and Q the queue ([K, D], L2-normalised rows):
//
//	ℓ(q, k) = (1/N) Σ_i −log( exp(q̂_i·k̂_i/τ) / (exp(q̂_i·k̂_i/τ) + Σ_j exp(q̂_i·Q_j/τ)) )
//	loss    = ½ ℓ(q_1, k_2) + ½ ℓ(q_2, k_1)                                  (τ default 0.2)
//	after each step:  θ_k ← m·θ_k + (1−m)·θ_q  (m default 0.99),  enqueue k̂_2, dequeue the oldest N
//
// Choices, and why:
//
//   - Symmetrised loss. The original is asymmetric (ℓ(q_1, k_2) only); the symmetric form (MoCo
//     v3 §3, solo-learn's "mocov2+") uses every image in both roles for the same forward cost
//     the online network already pays for SimCLR, and learns faster per epoch. The loss is
//     averaged (not summed) so its scale equals the original's. Only the N keys of view 2 enter
//     the queue, one per image, so the queue holds K distinct images as in the original.
//   - Shuffled, split BatchNorm. Multi-GPU MoCo normalises each GPU's sub-batch separately and
//     shuffles the keys across GPUs, so that a query and its positive key never share batch
//     statistics (through which the network could "cheat" by recognising its sub-batch). One
//     device with BatchNorm over the whole batch would share statistics between every query and
//     every key, which shuffling alone cannot fix. So this is the single-device simulation of
//     the official CIFAR demo (SplitBatchNorm): each view's N queries go through the query
//     encoder in Groups contiguous sub-batches, and each view's N keys are permuted with a seeded
//     permutation, run through the key encoder in Groups sub-batches (each a random subset of
//     images) and un-permuted. Groups defaults to 8 and is reduced so that every sub-batch holds
//     at least minSplitBN images (BatchNorm statistics over fewer are too noisy); 1 disables it.
//     As in SplitBatchNorm, the running statistics take one momentum update per forward pass
//     (per view and encoder), from the sub-batch statistics averaged (splitForward).
//   - The queue starts as random unit vectors drawn from Config.Seed, as in the paper's code
//     (torch.randn then normalize), so the loss is meaningful from the first step.
//
// State holds the key encoder ("key.…"), the queue, the queue pointer and the shuffle counter,
// so that a resumed run computes bit-identical losses.
//
// Config: Temperature (τ, default 0.2), QueueSize (K, default 4096), Momentum (m, default 0.99;
// the paper uses 0.999 on ImageNet), Seed.
type MoCoV2 struct {
	model, key *models.Model
	tau, m     float32
	// Groups is the number of BatchNorm sub-batches per view of the (global) batch (split BN);
	// see the type's comment and groups.
	Groups int

	queue   *tensor.Tensor // [K, D], unit rows
	ptr     int            // next row of the queue to overwrite
	seed    uint64
	calls   uint64         // Loss calls so far: seeds each call's key permutation
	pending *tensor.Tensor // [N, D] unit keys of the last Loss, enqueued by AfterStep; nil if none
	dp      dataParallel   // several ranks: keys shuffled across them (mocov2_dist.go)
}

// minSplitBN is the smallest sub-batch split BatchNorm makes.
const minSplitBN = 16

func init() {
	Register("moco-v2", Factory{DataParallel: true, New: func(m *models.Model, cfg Config) (Method, error) { return NewMoCoV2(m, cfg) }})
}

// NewMoCoV2 builds MoCo v2 around m (the query encoder); see MoCoV2 for the defaults.
func NewMoCoV2(m *models.Model, cfg Config) (*MoCoV2, error) {
	mom := cmp.Or(cfg.EMAMomentum, 0.99)
	if err := checkMomentum("moco-v2", mom); err != nil {
		return nil, err
	}
	k := cfg.QueueSize
	if k == 0 {
		k = 4096
	}
	if k < 1 {
		return nil, fmt.Errorf("moco-v2: queue size %d must be positive", k)
	}
	tau := cmp.Or(cfg.Temperature, 0.2)
	if !(tau > 0) {
		return nil, fmt.Errorf("moco-v2: temperature %g must be positive", tau)
	}
	key, err := newTarget(m)
	if err != nil {
		return nil, fmt.Errorf("moco-v2: %w", err)
	}
	s := &MoCoV2{model: m, key: key, tau: float32(tau), m: float32(mom), Groups: 8, seed: cfg.Seed, dp: newDataParallel(cfg)}
	s.queue = randomUnitRows(k, m.ProjDim, cfg.Seed)
	return s, nil
}

// randomUnitRows returns k rows of d standard normal values from seed, each L2-normalised.
func randomUnitRows(k, d int, seed uint64) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	q := tensor.New(k, d)
	for i := range k {
		row := q.Data[i*d : (i+1)*d]
		for j := range row {
			row[j] = float32(rng.NormFloat64())
		}
		normalizeRow(row)
	}
	return q
}

// normalizeRow scales row to unit L2 norm (x / max(‖x‖, 1e-12), F.normalize's eps).
func normalizeRow(row []float32) { vec.NormalizeRows(row, row, len(row), 1e-12, nil) }

// groups returns the number of split-BN sub-batches for n images. On several ranks n is this
// rank's share: the global batch's count, min(Groups, size·n/minSplitBN), is divided among the
// ranks, so that the sub-batches are those one process makes of the global batch and a run does
// not depend on the number of ranks (when that count divides by it; each rank makes at least one).
func (s *MoCoV2) groups(n int) int {
	if s.dp.on() {
		size := s.dp.comm.Size()
		return max(1, min(s.Groups, size*n/minSplitBN)/size)
	}
	return max(1, min(s.Groups, n/minSplitBN))
}

// Loss implements Method.
func (s *MoCoV2) Loss(b Batch) *autodiff.Var {
	if b.V < 2 {
		panic(fmt.Sprintf("method.MoCoV2: need 2 views, got %d", b.V))
	}
	tp, n, g := b.X.Tape(), b.N, s.groups(b.N)
	rng := rand.New(rand.NewPCG(s.seed, s.calls))
	s.calls++
	var q, k [2]*autodiff.Var
	var kAll [2]*tensor.Tensor // the keys of every rank's images (this rank's alone in one process)
	for v := range 2 {
		parts := splitForward(s.model, g, func(i int) *autodiff.Var {
			return s.model.Forward(autodiff.Slice(b.X, 0, v*n+i*n/g, v*n+(i+1)*n/g))
		})
		q[v] = parts[0]
		if g > 1 {
			q[v] = autodiff.Concat(0, parts...)
		}
		k[v] = noGrad(tp, func() *autodiff.Var {
			var kv *autodiff.Var
			kv, kAll[v] = s.shuffledKeys(tp, b.X.Value, v*n, n, g, rng)
			return kv
		})
	}
	queue := tp.Constant(s.queue)
	l := autodiff.Add(loss.InfoNCE(q[0], k[1], queue, s.tau), loss.InfoNCE(q[1], k[0], queue, s.tau))
	s.keepKeys(kAll[1])
	return autodiff.Scale(l, 0.5)
}

// keys runs the n images of x from row off through the key encoder in shuffled order, in g
// sub-batches, and returns the keys in the original order (Shuffle BN, split).
func (s *MoCoV2) keys(tp *autodiff.Tape, x *tensor.Tensor, off, n, g int, perm []int) *autodiff.Var {
	out := tp.Alloc(false, n, s.key.ProjDim)
	d := s.key.ProjDim
	idx := make([]int, 0, n)
	splitForward(s.key, g, func(i int) *autodiff.Var {
		lo, hi := i*n/g, (i+1)*n/g
		idx = idx[:0]
		for _, p := range perm[lo:hi] {
			idx = append(idx, off+p)
		}
		kg := s.key.Forward(tp.Constant(rowsOf(tp, x, idx)))
		for j, p := range perm[lo:hi] {
			copy(out.Data[p*d:(p+1)*d], kg.Value.Data[j*d:(j+1)*d])
		}
		return kg
	})
	return tp.Constant(out)
}

// keepKeys stores the unit-normalised keys k ([N, D]) for AfterStep's enqueue.
func (s *MoCoV2) keepKeys(k *tensor.Tensor) {
	if s.pending == nil || !tensor.SameShape(s.pending.Shape, k.Shape) {
		s.pending = tensor.New(k.Shape...)
	}
	copy(s.pending.Data, k.Data)
	d := k.Shape[1]
	for i := range k.Shape[0] {
		normalizeRow(s.pending.Data[i*d : (i+1)*d])
	}
}

// Params implements Method.
func (s *MoCoV2) Params() []*autodiff.Var { return s.model.Params() }

// AfterStep implements Method: the momentum update of the key encoder, then the queue update
// with the keys of the last Loss.
func (s *MoCoV2) AfterStep(float64) {
	models.EMAUpdate(s.key, s.model, s.m)
	if s.pending == nil {
		return
	}
	s.enqueue(s.pending)
	s.pending = nil
}

// enqueue writes the rows of k over the oldest rows of the queue (FIFO, wrapping around).
func (s *MoCoV2) enqueue(k *tensor.Tensor) {
	kq, d := s.queue.Shape[0], s.queue.Shape[1]
	for i := range k.Shape[0] {
		copy(s.queue.Data[s.ptr*d:(s.ptr+1)*d], k.Data[i*d:(i+1)*d])
		s.ptr = (s.ptr + 1) % kq
	}
}

// Model implements Method.
func (s *MoCoV2) Model() *models.Model { return s.model }

// KeyEncoder returns the momentum (key) encoder.
func (s *MoCoV2) KeyEncoder() *models.Model { return s.key }

// Queue returns the queue of negatives, [K, D] (the method's own tensor: do not modify).
func (s *MoCoV2) Queue() *tensor.Tensor { return s.queue }

// State implements Method: the key encoder under "key.", "queue", "queue_ptr" and "calls".
func (s *MoCoV2) State() map[string]*tensor.Tensor {
	st := map[string]*tensor.Tensor{
		"queue":     s.queue.Clone(),
		"queue_ptr": u64Tensor(uint64(s.ptr)),
		"calls":     u64Tensor(s.calls),
	}
	modelState("key", s.key, st)
	return st
}

// LoadState implements Method. It fails, changing nothing, on a state of another shape.
func (s *MoCoV2) LoadState(st map[string]*tensor.Tensor) error {
	if err := checkKeys(st, []string{"key"}, "queue", "queue_ptr", "calls"); err != nil {
		return fmt.Errorf("moco-v2: %w", err)
	}
	q := st["queue"]
	if q == nil || !tensor.SameShape(q.Shape, s.queue.Shape) {
		var shape any = "none"
		if q != nil {
			shape = q.Shape
		}
		return fmt.Errorf("moco-v2: state queue has shape %v, want %v (another queue size or projection width?)", shape, s.queue.Shape)
	}
	ptr, err := tensorU64("queue_ptr", st["queue_ptr"])
	if err != nil {
		return fmt.Errorf("moco-v2: %w", err)
	}
	if ptr >= uint64(s.queue.Shape[0]) {
		return fmt.Errorf("moco-v2: queue pointer %d outside a queue of %d", ptr, s.queue.Shape[0])
	}
	calls, err := tensorU64("calls", st["calls"])
	if err != nil {
		return fmt.Errorf("moco-v2: %w", err)
	}
	if err := loadModelState("key", s.key, st); err != nil {
		return fmt.Errorf("moco-v2: %w", err)
	}
	copy(s.queue.Data, q.Data)
	s.ptr, s.calls, s.pending = int(ptr), calls, nil
	return nil
}
