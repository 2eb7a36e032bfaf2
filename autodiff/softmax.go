package autodiff

import (
	"fmt"
	"math"

	"github.com/contrastive-go/contrastive/parallel"
)

// rowLSE returns log Σ_j exp(x_j) in float64, subtracting the maximum first so that no exp
// overflows: m + log Σ_j exp(x_j − m). A row of −Inf (or an empty row) gives −Inf; a +Inf
// entry gives +Inf.
func rowLSE(x []float32) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		if f := float64(v); f > m || f != f { // NaN propagates
			m = f
		}
	}
	if math.IsInf(m, 0) || m != m {
		return m
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s)
}

// lastDimRows checks x has at least one dimension with a non-empty last one and views it as
// [rows, c].
func lastDimRows(op string, x *Var) (rows, c int) {
	s := x.Shape()
	if len(s) == 0 || s[len(s)-1] == 0 {
		panic(fmt.Sprintf("autodiff.%s: need a non-empty last dimension, got shape %v", op, s))
	}
	c = s[len(s)-1]
	return x.Value.Numel() / c, c
}

// rowLSEs computes rowLSE for every row of the [rows, c] view of x, in parallel.
func rowLSEs(x []float32, rows, c int) []float64 {
	lse := make([]float64, rows)
	parallel.For(rows, reduceGrain(c), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			lse[r] = rowLSE(x[r*c : (r+1)*c])
		}
	})
	return lse
}

// LogSoftmax returns the log-softmax over the last dimension of x (typically logits [N,C]; any
// leading dimensions are rows):
//
//	y[n, j] = x[n, j] − log Σ_k exp(x[n, k])
//
// computed with the row maximum subtracted, in float64, so that logits of any magnitude are
// safe. Gradient: dx[n, j] = dy[n, j] − softmax(x)[n, j]·Σ_k dy[n, k].
func LogSoftmax(x *Var) *Var {
	rows, c := lastDimRows("LogSoftmax", x)
	out := Node("LogSoftmax", false, x.Shape(), x)
	xd, y := x.Data(), out.Data()
	lse := rowLSEs(xd, rows, c)
	parallel.For(rows, reduceGrain(c), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			for j := r * c; j < (r+1)*c; j++ {
				y[j] = float32(float64(xd[j]) - lse[r])
			}
		}
	})
	if out.requiresGrad {
		out.backward = func() {
			g, gx := out.Grad.Data, x.GradBuf()
			parallel.For(rows, reduceGrain(c), func(lo, hi int) {
				for r := lo; r < hi; r++ {
					var sg float64
					for _, v := range g[r*c : (r+1)*c] {
						sg += float64(v)
					}
					for j := r * c; j < (r+1)*c; j++ {
						p := math.Exp(float64(xd[j]) - lse[r])
						gx[j] += float32(float64(g[j]) - p*sg)
					}
				}
			})
		}
	}
	return out
}

// Softmax returns the softmax over the last dimension of x:
//
//	y[n, j] = exp(x[n, j] − m_n) / Σ_k exp(x[n, k] − m_n),  m_n = max_k x[n, k]
//
// Gradient: dx[n, j] = y[n, j]·(dy[n, j] − Σ_k dy[n, k]·y[n, k]).
func Softmax(x *Var) *Var {
	rows, c := lastDimRows("Softmax", x)
	out := Node("Softmax", false, x.Shape(), x)
	xd, y := x.Data(), out.Data()
	lse := rowLSEs(xd, rows, c)
	parallel.For(rows, reduceGrain(c), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			for j := r * c; j < (r+1)*c; j++ {
				y[j] = float32(math.Exp(float64(xd[j]) - lse[r]))
			}
		}
	})
	if out.requiresGrad {
		out.backward = func() {
			g, gx := out.Grad.Data, x.GradBuf()
			parallel.For(rows, reduceGrain(c), func(lo, hi int) {
				for r := lo; r < hi; r++ {
					var dot float64
					for j := r * c; j < (r+1)*c; j++ {
						dot += float64(g[j]) * float64(y[j])
					}
					for j := r * c; j < (r+1)*c; j++ {
						gx[j] += float32(float64(y[j]) * (float64(g[j]) - dot))
					}
				}
			})
		}
	}
	return out
}

// LogSumExp returns log Σ_j exp(x[…, j, …]) over one axis (negative counts from the end),
// computed stably as m + log Σ_j exp(x_j − m) with m the maximum along the axis, in float64.
// keepDim as in Sum. Gradient: dx[…, j, …] = dy[…]·exp(x[…, j, …] − y[…]) (the softmax along
// the axis).
func LogSumExp(x *Var, axis int, keepDim bool) *Var {
	ax := normAxis("LogSumExp", axis, x.Shape())
	outer, n, inner := axisSplit(x.Shape(), ax)
	if n == 0 {
		panic(fmt.Sprintf("autodiff.LogSumExp: axis %d of shape %v is empty", axis, x.Shape()))
	}
	out := Node("LogSumExp", false, reducedShape(x.Shape(), ax, keepDim), x)
	xd, y := x.Data(), out.Data()
	lse := make([]float64, outer*inner)
	parallel.For(outer*inner, reduceGrain(n), func(lo, hi int) {
		if inner == 1 {
			for o := lo; o < hi; o++ {
				lse[o] = rowLSE(xd[o*n : (o+1)*n])
			}
			return
		}
		sum := make([]float64, min(inner, hi-lo))
		columns(lo, hi, inner, func(o, k0, k1 int) {
			m, s := lse[o*inner+k0:o*inner+k1], sum[:k1-k0]
			base := o * n * inner
			for k := range m {
				m[k] = math.Inf(-1)
				s[k] = 0
			}
			for j := 0; j < n; j++ {
				for k, v := range xd[base+j*inner+k0 : base+j*inner+k1] {
					if f := float64(v); f > m[k] || f != f {
						m[k] = f
					}
				}
			}
			for j := 0; j < n; j++ {
				for k, v := range xd[base+j*inner+k0 : base+j*inner+k1] {
					if !math.IsInf(m[k], 0) {
						s[k] += math.Exp(float64(v) - m[k])
					}
				}
			}
			for k := range m {
				if !math.IsInf(m[k], 0) {
					m[k] += math.Log(s[k])
				}
			}
		})
	})
	for i, v := range lse {
		y[i] = float32(v)
	}
	if out.requiresGrad {
		out.backward = func() {
			g, gx := out.Grad.Data, x.GradBuf()
			parallel.For(outer*n, max(1, grainElems/inner), func(lo, hi int) {
				for r := lo; r < hi; r++ {
					o := r / n
					for k := 0; k < inner; k++ {
						l := lse[o*inner+k]
						if math.IsInf(l, -1) {
							continue // every term is exp(−Inf) = 0: no gradient
						}
						gx[r*inner+k] += float32(float64(g[o*inner+k]) * math.Exp(float64(xd[r*inner+k])-l))
					}
				}
			})
		}
	}
	return out
}

// CrossEntropy returns the softmax cross-entropy of logits [N,C] against integer labels in
// [0, C), averaged over the batch, as a [1] tensor (F.cross_entropy with reduction 'mean'):
//
//	loss = −(1/N) Σ_n log_softmax(z)[n, labels[n]] = (1/N) Σ_n (logsumexp(z[n]) − z[n, labels[n]])
//
// stable for logits of any magnitude. Gradient: dz[n, j] = dloss·(softmax(z)[n, j] − [j = labels[n]])/N.
// len(labels) must be N; a label outside [0, C) panics naming it.
func CrossEntropy(logits *Var, labels []int) *Var {
	s := logits.Shape()
	if len(s) != 2 || s[0] == 0 || s[1] == 0 {
		panic(fmt.Sprintf("autodiff.CrossEntropy: logits must be a non-empty [N,C], got shape %v", s))
	}
	n, c := s[0], s[1]
	if len(labels) != n {
		panic(fmt.Sprintf("autodiff.CrossEntropy: %d labels for logits of shape %v", len(labels), s))
	}
	for i, l := range labels {
		if l < 0 || l >= c {
			panic(fmt.Sprintf("autodiff.CrossEntropy: label %d at index %d out of range [0, %d) for logits %v", l, i, c, s))
		}
	}
	labels = append([]int(nil), labels...) // Backward must not see later changes by the caller
	out := Node("CrossEntropy", false, []int{1}, logits)
	z := logits.Data()
	lse := rowLSEs(z, n, c)
	var loss float64
	for i, l := range labels {
		loss += lse[i] - float64(z[i*c+l])
	}
	out.Data()[0] = float32(loss / float64(n))
	if out.requiresGrad {
		out.backward = func() {
			g, gz := float64(out.Grad.Data[0])/float64(n), logits.GradBuf()
			parallel.For(n, reduceGrain(c), func(lo, hi int) {
				for r := lo; r < hi; r++ {
					for j := 0; j < c; j++ {
						p := math.Exp(float64(z[r*c+j]) - lse[r])
						if j == labels[r] {
							p--
						}
						gz[r*c+j] += float32(g * p)
					}
				}
			})
		}
	}
	return out
}
