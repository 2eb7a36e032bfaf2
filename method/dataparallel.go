package method

import (
	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/loss"
)

// This file holds what the methods share for data-parallel training (Config.Comm with several
// ranks). Rank r's Batch holds images r·n … (r+1)·n−1 of the global batch of N·n images, and
// its Loss returns its part of the global loss: the mean of the ranks' losses is the loss of the
// global batch and the mean of their gradients its gradient (dist.GradAverager's average). How
// each method gets there, as the reference code of each does:
//
//   - SimCLR, DCL, DCLW: projections gathered with gradient; each rank's 2n anchors against all
//     2nN rows (loss.NTXentGathered, loss.DCLGathered, loss.DCLWGathered; DCLW's weights are
//     normalised over the global batch).
//   - SupCon, Barlow Twins, VICReg, MoCo v3: the inputs of the loss gathered with gradient (MoCo
//     v3's keys without) into the single-process layout, and the loss of the global batch
//     computed on every rank (VICReg's reference does this; the loss costs N times its share,
//     small beside the encoder for these heads). AllGather's backward sums the N identical
//     gradients, and averaging divides them again.
//   - NNCLR: each rank looks up its own projections' neighbours in the support set, which is fed
//     with the gathered view-1 projections (the same set on every rank); the neighbours and the
//     predictions (with gradient) are gathered and the loss of the global batch computed on
//     every rank, as SupCon's.
//   - SwAV: Sinkhorn–Knopp over the global batch (loss.SinkhornGlobal, its sums all-reduced in
//     every iteration), then each rank's swapped prediction of its own images.
//   - DINO: per-image losses against the teacher's targets; the centre is updated with the mean
//     of the teacher outputs over the global batch (all-reduced).
//   - BYOL, SimSiam: per-image losses; the mean of the ranks' means is the global mean.
//   - MoCo v2: shuffled BatchNorm across ranks (see mocov2_dist.go) and a queue fed with the
//     gathered keys, the same queue on every rank.
//
// BatchNorm: every method except MoCo v2 runs its forward passes with the tape's SyncBN set
// (statistics over the global batch) unless Config.LocalBN; MoCo v2 keeps per-rank BatchNorm,
// which is what its shuffling is for.

// dataParallel is a method's view of Config.Comm.
type dataParallel struct {
	comm   dist.Comm // nil when the method runs in one process
	syncBN bool
}

func newDataParallel(cfg Config) dataParallel {
	if cfg.Comm == nil || cfg.Comm.Size() == 1 {
		return dataParallel{}
	}
	return dataParallel{comm: cfg.Comm, syncBN: !cfg.LocalBN}
}

// on reports whether the method runs on several ranks.
func (d dataParallel) on() bool { return d.comm != nil }

// forward runs f (the method's forward passes) with SyncBN set on tp when BatchNorm is
// synchronised, restoring tp's setting after.
func forward[T any](d dataParallel, tp *autodiff.Tape, f func() T) T {
	if !d.syncBN {
		return f()
	}
	prev := tp.SyncBN
	tp.SyncBN = d.comm
	defer func() { tp.SyncBN = prev }()
	return f()
}

// gatherViews gathers z, this rank's [V·n, D] rows (V views of its n images, view-major), from
// every rank into the layout one process would have for the global batch: [V·N·n, D], view v of
// global image j in row v·N·n + j (global image j = rank j/n's image j mod n). With one rank it
// returns z.
func (d dataParallel) gatherViews(z *autodiff.Var, views int) *autodiff.Var {
	if !d.on() {
		return z
	}
	all := autodiff.AllGather(d.comm, z)
	size, rows := d.comm.Size(), z.Shape()[0]
	n := rows / views
	if size == 1 || views == 1 {
		return all
	}
	parts := make([]*autodiff.Var, 0, views*size)
	for v := range views {
		for r := range size {
			parts = append(parts, autodiff.Slice(all, 0, r*rows+v*n, r*rows+(v+1)*n))
		}
	}
	return autodiff.Concat(0, parts...)
}

// gatherLabels returns the labels of the global batch (rank order) from this rank's n labels
// (nil: all unknown, −1). Labels must be below 2²⁴ in magnitude (they travel as float32).
func (d dataParallel) gatherLabels(labels []int, n int) []int {
	mine := make([]float32, n)
	for i := range mine {
		mine[i] = -1
		if labels != nil {
			mine[i] = float32(labels[i])
		}
	}
	all := make([]float32, d.comm.Size()*n)
	d.comm.AllGather(all, mine)
	out := make([]int, len(all))
	for i, v := range all {
		out[i] = int(v)
	}
	return out
}

// logSumExp replaces each v[j], a log-sum-exp over this rank's rows, by the log-sum-exp over
// every rank's rows (loss.SinkhornGlobal's combine): each rank's values travel in its own slot
// of an all-reduce (float64), and every rank combines them in rank order, so all get the same.
func (d dataParallel) logSumExp(v []float64) {
	size := d.comm.Size()
	parts := make([]float64, size*len(v))
	copy(parts[d.comm.Rank()*len(v):], v)
	d.comm.AllReduce64(parts)
	loss.LogSumExpOver(v, parts)
}
