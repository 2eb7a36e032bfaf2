package autodiff_test

import (
	"math"
	"testing"

	ad "github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/internal/gradcheck"
	"github.com/contrastive-go/contrastive/internal/mpitest"
	"github.com/contrastive-go/contrastive/tensor"
)

// closeRel fails t unless |got − want| ≤ tol·max(1, |want|) elementwise.
func closeRel(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol*math.Max(1, math.Abs(float64(want[i])))) {
			t.Fatalf("%s[%d] = %.8g, want %.8g", what, i, got[i], want[i])
		}
	}
}

// bnRun is one training-mode BatchNorm (or SyncBatchNorm) forward and backward with S = Σ y·r.
type bnRun struct{ y, gx, gg, gb, rm, rv []float32 }

func runBN(x, r *tensor.Tensor, c int, relu bool, op func(x, g, b *ad.Var, rm, rv *tensor.Tensor) *ad.Var) bnRun {
	tp := ad.NewTape()
	xv := tp.Variable(x.Clone())
	g, b := ad.Param(gradcheck.Random(5, c)), ad.Param(gradcheck.Random(6, c))
	rm, rv := gradcheck.Random(7, c), tensor.New(c)
	rv.Fill(0.5)
	y := op(xv, g, b, rm, rv)
	tp.Backward(ad.SumAll(ad.Mul(y, tp.Constant(r))))
	return bnRun{append([]float32(nil), y.Data()...), xv.Grad.Data, g.Grad.Data, b.Grad.Data, rm.Data, rv.Data}
}

func bnShapes() [][]int { return [][]int{{9, 5}, {6, 3, 4, 5}} }

// TestSyncBatchNormOnOneRankIsBatchNorm: the all-reduce path over one rank gives BatchNorm's
// values, running statistics and gradients, with and without the fused ReLU.
func TestSyncBatchNormOnOneRankIsBatchNorm(t *testing.T) {
	for _, shape := range bnShapes() {
		for _, relu := range []bool{false, true} {
			c := shape[1]
			x, r := gradcheck.Random(1, shape...), gradcheck.Random(2, shape...)
			x.Data[0] += 30 // a channel with a large mean
			want := runBN(x, r, c, relu, func(x, g, b *ad.Var, rm, rv *tensor.Tensor) *ad.Var {
				if relu {
					return ad.BatchNormReLU(x, g, b, rm, rv, true, 0.1, 1e-5)
				}
				return ad.BatchNorm(x, g, b, rm, rv, true, 0.1, 1e-5)
			})
			got := runBN(x, r, c, relu, func(x, g, b *ad.Var, rm, rv *tensor.Tensor) *ad.Var {
				return ad.SyncBatchNormAnyRanks(dist.Local{}, x, g, b, rm, rv, 0.1, 1e-5, relu)
			})
			for _, p := range []struct {
				name      string
				got, want []float32
			}{{"y", got.y, want.y}, {"dx", got.gx, want.gx}, {"dγ", got.gg, want.gg}, {"dβ", got.gb, want.gb},
				{"running_mean", got.rm, want.rm}, {"running_var", got.rv, want.rv}} {
				closeRel(t, p.name, p.got, p.want, 1e-6)
			}
		}
	}
}

func TestSyncBatchNormGradient(t *testing.T) {
	for _, shape := range bnShapes() {
		for _, relu := range []bool{false, true} {
			c := shape[1]
			gradcheck.Check(t, "SyncBatchNorm", func(tp *ad.Tape, in []*ad.Var) *ad.Var {
				return ad.SyncBatchNormAnyRanks(dist.Local{}, in[0], in[1], in[2], nil, nil, 0.1, 1e-5, relu)
			}, []*tensor.Tensor{gradcheck.Random(3, shape...), gradcheck.Random(4, c), gradcheck.Random(5, c)}, gradcheck.Options{Eps: 1e-3, RTol: 5e-2, ATol: 5e-3})
		}
	}
}

// TestSyncBatchNormMPI: 3 ranks holding 2, 3 and 4 images of one batch compute what one
// process computes on the whole batch: the outputs and input gradients of their images, the same
// running statistics on every rank, and dγ, dβ that sum to the whole batch's.
func TestSyncBatchNormMPI(t *testing.T) {
	if !mpitest.Rank() {
		mpitest.Run(t, mpitest.Job{NP: 3})
		return
	}
	comm := mpitest.Join(t)
	rows := []int{2, 3, 4}
	lo := 0
	for r := range comm.Rank() {
		lo += rows[r]
	}
	hi := lo + rows[comm.Rank()]
	for _, shape := range [][]int{{9, 5}, {9, 3, 4, 5}} {
		for _, relu := range []bool{false, true} {
			c := shape[1]
			x, r := gradcheck.Random(1, shape...), gradcheck.Random(2, shape...)
			per := x.Numel() / shape[0]
			shard := func(t *tensor.Tensor) *tensor.Tensor {
				s := append([]int{hi - lo}, shape[1:]...)
				return tensor.FromSlice(append([]float32(nil), t.Data[lo*per:hi*per]...), s...)
			}
			want := runBN(x, r, c, relu, func(x, g, b *ad.Var, rm, rv *tensor.Tensor) *ad.Var {
				if relu {
					return ad.BatchNormReLU(x, g, b, rm, rv, true, 0.1, 1e-5)
				}
				return ad.BatchNorm(x, g, b, rm, rv, true, 0.1, 1e-5)
			})
			got := runBN(shard(x), shard(r), c, relu, func(x, g, b *ad.Var, rm, rv *tensor.Tensor) *ad.Var {
				if relu {
					return ad.SyncBatchNormReLU(comm, x, g, b, rm, rv, true, 0.1, 1e-5)
				}
				return ad.SyncBatchNorm(comm, x, g, b, rm, rv, true, 0.1, 1e-5)
			})
			closeRel(t, "y", got.y, want.y[lo*per:hi*per], 1e-5)
			closeRel(t, "dx", got.gx, want.gx[lo*per:hi*per], 1e-5)
			closeRel(t, "running_mean", got.rm, want.rm, 1e-6)
			closeRel(t, "running_var", got.rv, want.rv, 1e-6)
			comm.AllReduce(got.gg)
			comm.AllReduce(got.gb)
			closeRel(t, "Σ_ranks dγ", got.gg, want.gg, 1e-5)
			closeRel(t, "Σ_ranks dβ", got.gb, want.gb, 1e-5)
		}
	}
}
