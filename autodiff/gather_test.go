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

// rankLoss is a loss that differs from rank to rank: L_r = Σ GELU(X ⊙ R_r) over the gathered
// rows X, with R_r a fixed random tensor of rank r.
func rankLoss(x *ad.Var, rank int) *ad.Var {
	r := gradcheck.Random(uint64(100+rank), x.Shape()...)
	return ad.SumAll(ad.GELU(ad.Mul(x, x.Tape().Constant(r))))
}

func TestAllGatherOnOneRankIsTheIdentity(t *testing.T) {
	gradcheck.Check(t, "AllGather(Local)", func(tp *ad.Tape, in []*ad.Var) *ad.Var {
		return ad.AllGather(dist.Local{}, in[0])
	}, []*tensor.Tensor{gradcheck.Random(1, 3, 4)}, gradcheck.Options{})
}

// TestAllGatherMPI: 3 ranks gather their [2,4] rows and each computes a different loss of the
// gathered [6,4]. The forward pass is the rows in rank order; the gradient of Σ_r L_r with
// respect to each rank's rows equals the single-process gradient (one process computing every
// L_r on the concatenation) and central finite differences of the distributed Σ_r L_r.
func TestAllGatherMPI(t *testing.T) {
	if !mpitest.Rank() {
		mpitest.Run(t, mpitest.Job{NP: 3})
		return
	}
	comm := mpitest.Join(t)
	rank, size := comm.Rank(), comm.Size()
	const n, d = 2, 4
	all := gradcheck.Random(9, size*n, d) // every rank's rows, known to all for the reference
	mine := tensor.FromSlice(append([]float32(nil), all.Data[rank*n*d:(rank+1)*n*d]...), n, d)

	tp := ad.NewTape()
	x := tp.Variable(mine.Clone())
	g := ad.AllGather(comm, x)
	closeRel(t, "gathered rows", g.Data(), all.Data, 0)
	tp.Backward(rankLoss(g, rank))
	got := append([]float32(nil), x.Grad.Data...)

	// Single process: d(Σ_r L_r)/dX on the concatenation, this rank's rows.
	ref := ad.NewTape()
	xa := ref.Variable(all.Clone())
	total := rankLoss(xa, 0)
	for r := 1; r < size; r++ {
		total = ad.Add(total, rankLoss(xa, r))
	}
	ref.Backward(total)
	closeRel(t, "gradient vs single process", got, xa.Grad.Data[rank*n*d:(rank+1)*n*d], 1e-5)

	// Finite differences of the distributed loss: probe p perturbs element p/size of rank p%size.
	lossAt := func(v *tensor.Tensor) float64 {
		tp := ad.NewTape()
		tp.NoGrad = true
		l := []float64{float64(rankLoss(ad.AllGather(comm, tp.Constant(v)), rank).Item())}
		comm.AllReduce64(l)
		return l[0]
	}
	const eps = 1e-2
	for p := 0; p < size*n*d; p++ {
		owner, j := p%size, p/size
		v := mine.Clone()
		if rank == owner {
			v.Data[j] += eps
		}
		up := lossAt(v)
		if rank == owner {
			v.Data[j] -= 2 * eps
		}
		down := lossAt(v)
		if rank == owner {
			num := (up - down) / (2 * eps)
			if a := float64(got[j]); math.Abs(a-num) > 1e-3+2e-2*math.Abs(num) {
				t.Errorf("rank %d: d/dx[%d]: analytic %.6g, numeric %.6g", rank, j, a, num)
			}
		}
	}
}
