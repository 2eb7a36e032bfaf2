package loss

import (
	"fmt"
	"math"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/parallel"
	"github.com/contrastive-go/contrastive/tensor"
)

// SwAV is the swapped-prediction loss of SwAV: the codes of each assigned view are predicted
// from the prototype scores of every other view.
//
// "Unsupervised Learning of Visual Features by Contrasting Cluster Assignments", Caron, Misra,
// Mairal, Goyal, Bojanowski, Joulin, NeurIPS 2020 (https://arxiv.org/abs/2006.09882), equations
// 1–3, with the official code's averaging. scores holds V views of N images view-major (row
// v·N + i is view v of image i): s_v[i] = ẑ_v[i]·Cᵀ, the cosine of the view's projection to the
// K prototypes. q holds the codes of the first G views (G ≤ V, usually the 2 global views),
// q_g = Sinkhorn(s_g) computed without gradient. With p_v[i] = softmax(s_v[i]/τ),
//
//	loss = (1/G) Σ_{g<G} (1/(V−1)) Σ_{v≠g} (1/N) Σ_i −Σ_k q_g[i,k]·log p_v[i,k]
//
// Arguments:
//   - scores: [V·N, K] prototype scores; the gradient flows to them (and through them to the
//     projections and the prototypes).
//   - q: [G·N, K] codes (constants), G ≥ 1; each row is a distribution over the prototypes.
//   - n: the number of images N.
//   - tau: the temperature τ > 0; the paper uses 0.1.
//
// Usage:
//
//	s := autodiff.Linear(autodiff.L2Normalize(z, 1e-12), prototypes, nil) // [V·N, K]
//	q := loss.Sinkhorn(s.Value.Data[:2*n*k], 2*n, k, 0.05, 3)             // per view: see Sinkhorn
//	l := loss.SwAV(s, q, n, 0.1)
func SwAV(scores *autodiff.Var, q *tensor.Tensor, n int, tau float32) *autodiff.Var {
	return swappedPrediction("SwAV", scores, q, n, tau)
}

// Sinkhorn returns the SwAV codes of a batch: the Sinkhorn–Knopp solution of the equipartition
// problem for the scores s ([B, K] row-major), as the official code's distributed_sinkhorn on
// one process:
//
//	Q = exp(sᵀ/ε)   ([K, B]), Q /= ΣQ
//	repeat iters times:  rows:    Q_k· /= Σ_b Q_kb, then /= K
//	                     columns: Q_·b /= Σ_k Q_kb, then /= B
//	codes = (B·Q)ᵀ    ([B, K]: each row sums to 1)
//
// so that every prototype receives about B/K of the batch. It runs in the log domain in float64
// (log Q, each normalisation a log-sum-exp), so no exponential over- or underflows: scores far
// beyond the cosine range give finite codes too. Call it once per assigned view, on that view's
// B = N rows (or on a queue plus the view, keeping the view's rows). The paper uses ε = 0.05 and
// 3 iterations.
func Sinkhorn(s []float32, b, k int, eps float64, iters int) *tensor.Tensor {
	if len(s) != b*k || b < 1 || k < 1 {
		panic(fmt.Sprintf("loss.Sinkhorn: %d scores for a [%d, %d] batch", len(s), b, k))
	}
	return sinkhorn("Sinkhorn", s, b, k, eps, iters, b, nil)
}

// sinkhorn is Sinkhorn on b of the total rows of a batch; combine, when not nil, replaces each
// log-sum-exp over this part's rows by the one over the whole batch (see SinkhornGlobal).
func sinkhorn(op string, s []float32, b, k int, eps float64, iters, total int, combine func([]float64)) *tensor.Tensor {
	if !(eps > 0) || iters < 0 {
		panic(fmt.Sprintf("loss.%s: need eps > 0 and iters ≥ 0, got %v, %d", op, eps, iters))
	}
	if combine == nil {
		combine = func([]float64) {}
	}
	lq := make([]float64, b*k) // lq[i*k+j] = log Q[j, i]
	for i, v := range s {
		lq[i] = float64(v) / eps
	}
	all := []float64{logSumExp(lq, 0, 1, b*k)}
	combine(all)
	shift(lq, 0, 1, b*k, all[0]) // Q /= ΣQ
	logK, logB := math.Log(float64(k)), math.Log(float64(total))
	rows := make([]float64, k)
	for range iters {
		for j := range k { // prototype j: column j of lq, stride k
			rows[j] = logSumExp(lq, j, k, b)
		}
		combine(rows)
		for j := range k {
			shift(lq, j, k, b, rows[j]+logK)
		}
		for i := range b {
			shift(lq, i*k, 1, k, logSumExp(lq, i*k, 1, k)+logB)
		}
	}
	out := tensor.New(b, k)
	for i, v := range lq {
		out.Data[i] = float32(math.Exp(v + logB))
	}
	return out
}

// logSumExp returns log Σ exp(x[off + t·stride]) over t < n.
func logSumExp(x []float64, off, stride, n int) float64 {
	m := math.Inf(-1)
	for t := range n {
		m = math.Max(m, x[off+t*stride])
	}
	if math.IsInf(m, 0) {
		return m
	}
	var s float64
	for t := range n {
		s += math.Exp(x[off+t*stride] - m)
	}
	return m + math.Log(s)
}

// shift subtracts c from x[off + t·stride] for t < n.
func shift(x []float64, off, stride, n int, c float64) {
	for t := range n {
		x[off+t*stride] -= c
	}
}

// swappedPrediction is the cross-entropy shared by SwAV and DINO: for targets t_g (rows of q,
// G·N of them) and predictions softmax(s_v/τ) of V views,
//
//	loss = (1/(G·(V−1))) Σ_{g<G} Σ_{v≠g} (1/N) Σ_i −Σ_k t_g[i,k]·log softmax(s_v[i]/τ)_k
//
// with gradient dL/ds_v[i,k] = (1/(G(V−1)Nτ)) Σ_{g<G, g≠v} (p_v[i,k]·Σ_k' t_g[i,k'] − t_g[i,k]).
func swappedPrediction(op string, scores *autodiff.Var, q *tensor.Tensor, n int, tau float32) *autodiff.Var {
	rows, k := check2D(op, "scores", scores)
	if n < 1 || rows%n != 0 || rows/n < 2 {
		panic(fmt.Sprintf("loss.%s: scores %v must hold V ≥ 2 views of n = %d images", op, scores.Shape(), n))
	}
	if q == nil || q.Dims() != 2 || q.Shape[1] != k || q.Shape[0]%n != 0 || q.Shape[0] == 0 || q.Shape[0] > rows {
		var qs any = "nil"
		if q != nil {
			qs = q.Shape
		}
		panic(fmt.Sprintf("loss.%s: targets %v must be [G·%d, %d] with 1 ≤ G ≤ V (scores %v)", op, qs, n, k, scores.Shape()))
	}
	checkTau(op, tau)
	v, g := rows/n, q.Shape[0]/n
	inv := 1 / tau
	out := scalarNode(op, scores)
	tp := out.Tape()
	// p holds softmax(s/τ) per row; lse the row's log-sum-exp of s/τ.
	p := tp.Alloc(false, rows, k).Data
	copy(p, scores.Data())
	lse := make([]float64, rows)
	parallel.For(rows, rowGrain(k), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			lse[r], _ = softmaxRow(p[r*k:(r+1)*k], -1, inv)
		}
	})
	// −Σ_k t[k]·log p[k] = Σ_k t[k]·(lse − s[k]/τ).
	s, t := scores.Data(), q.Data
	terms := make([]float64, g*v)
	parallel.For(g*v, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			gi, vi := c/v, c%v
			if gi == vi {
				continue
			}
			var sum float64
			for i := range n {
				tr, sr := t[(gi*n+i)*k:(gi*n+i+1)*k], s[(vi*n+i)*k:(vi*n+i+1)*k]
				l := lse[vi*n+i]
				for j, tv := range tr {
					sum += float64(tv) * (l - float64(sr[j])*float64(inv))
				}
			}
			terms[c] = sum
		}
	})
	var total float64
	for _, x := range terms {
		total += x
	}
	scale := 1 / float64(g*(v-1)*n)
	out.Data()[0] = float32(total * scale)

	if out.RequiresGrad() && scores.RequiresGrad() {
		out.SetBackward(func() {
			c := out.Grad.Data[0] * float32(scale) * inv
			gs := scores.GradBuf()
			parallel.For(rows, rowGrain(k), func(lo, hi int) {
				for r := lo; r < hi; r++ {
					vi, i := r/n, r%n
					pr, gr := p[r*k:(r+1)*k], gs[r*k:(r+1)*k]
					for gi := range g {
						if gi == vi {
							continue
						}
						tr := t[(gi*n+i)*k : (gi*n+i+1)*k]
						var mass float64
						for _, tv := range tr {
							mass += float64(tv)
						}
						m := float32(mass)
						for j := range gr {
							gr[j] += c * (pr[j]*m - tr[j])
						}
					}
				}
			})
		})
	}
	return out
}
