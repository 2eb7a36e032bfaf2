package loss

import (
	"fmt"

	"github.com/contrastive-go/contrastive/tensor"
)

// SinkhornGlobal is Sinkhorn over a batch split across the ranks of a data-parallel job, as
// the official SwAV's distributed_sinkhorn: each rank holds b of the batch's total rows, and
// every sum over the batch — ΣQ at the start, each prototype's row sum Σ_b Q_kb in every
// iteration — runs over every rank's rows; the column normalisation is per row (per sample) and
// stays local, and B in the formulas of Sinkhorn is the global total:
//
//	Q = exp(sᵀ/ε), Q /= Σ_ranks ΣQ
//	repeat iters times:  rows:    Q_k· /= Σ_ranks Σ_b Q_kb, then /= K
//	                     columns: Q_·b /= Σ_k Q_kb, then /= B_total
//	codes = (B_total·Q)ᵀ   (this rank's [b, K] rows)
//
// So the codes of every rank's rows are those Sinkhorn gives the whole batch in one process.
// As Sinkhorn it works in the log domain, so the sums across ranks are sums of exponentials
// of log-sum-exps: combine(v) must replace each v[j], a log-sum-exp over this rank's rows,
// by log Σ_r exp(v_r[j]) over every rank r (the same on every rank; see method's
// dataParallel.logSumExp, an all-reduce). Every rank must call SinkhornGlobal with the same
// k, eps, iters and total, which makes it call combine equally often with equal lengths.
func SinkhornGlobal(s []float32, b, k int, eps float64, iters, total int, combine func(v []float64)) *tensor.Tensor {
	if len(s) != b*k || b < 1 || k < 1 || total < b {
		panic(fmt.Sprintf("loss.SinkhornGlobal: %d scores for [%d, %d] rows of a batch of %d", len(s), b, k, total))
	}
	if combine == nil {
		panic("loss.SinkhornGlobal: nil combine")
	}
	return sinkhorn("SinkhornGlobal", s, b, k, eps, iters, total, combine)
}

// LogSumExpOver returns log Σ_r exp(x_r) of values x_r given as parts[r·n + j] for r < len/n:
// the combination SinkhornGlobal's combine computes from every rank's log-sum-exps (n per rank).
// It writes the n results to dst.
func LogSumExpOver(dst, parts []float64) {
	n := len(dst)
	if n == 0 || len(parts)%n != 0 {
		panic(fmt.Sprintf("loss.LogSumExpOver: %d parts for %d values", len(parts), n))
	}
	for j := range dst {
		dst[j] = logSumExp(parts, j, n, len(parts)/n)
	}
}
