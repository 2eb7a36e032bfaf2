package loss

import (
	"fmt"
	"math"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/parallel"
)

// VICRegTerms are the unweighted parts of a VICReg loss, for logging.
type VICRegTerms struct {
	Inv, Var, Cov float64   // invariance (MSE), variance hinge, covariance terms
	StdX, StdY    []float64 // per-dimension standard deviations sqrt(var_j + eps) of x and y
}

// VICReg is the Variance-Invariance-Covariance regularisation loss, with eps = 1e-4.
//
// "VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised Learning", Bardes,
// Ponce, LeCun, 2022 (https://arxiv.org/abs/2105.04906), as the official
// facebookresearch/vicreg code computes it. For x, y [N, D]:
//
//	inv  = (1/(N·D)) Σ_{n,j} (x_nj − y_nj)²
//	std_j(a) = sqrt(var_j(a) + eps), var_j unbiased (÷(N−1)) over the batch
//	var  = mean_j max(0, 1 − std_j(x))/2 + mean_j max(0, 1 − std_j(y))/2
//	C(a) = (a − ā)ᵀ(a − ā)/(N−1)                      ([D, D] covariance, unbiased)
//	cov  = Σ_{j≠k} C(x)_jk²/D + Σ_{j≠k} C(y)_jk²/D   (the branches are summed)
//	loss = λ·inv + μ·var + ν·cov
//
// Arguments:
//   - x, y: [N, D] expander outputs of the two views (N ≥ 2); the gradient flows to both.
//   - lambda, mu, nu: the invariance, variance and covariance weights; the paper's defaults are
//     λ = 25, μ = 25, ν = 1.
//
// Means and variances are accumulated in float64 over centred values (two passes).
//
// Usage:
//
//	x, y := model.Forward(view1), model.Forward(view2)
//	l := loss.VICReg(x, y, 25, 25, 1)
//	tp.Backward(l)
func VICReg(x, y *autodiff.Var, lambda, mu, nu float32) *autodiff.Var {
	l, _ := VICRegDetail(x, y, lambda, mu, nu, 1e-4)
	return l
}

// VICRegDetail is VICReg with the variance eps given and the unweighted terms returned.
func VICRegDetail(x, y *autodiff.Var, lambda, mu, nu, eps float32) (*autodiff.Var, VICRegTerms) {
	n, d := check2D("VICReg", "x", x)
	if r, c := check2D("VICReg", "y", y); r != n || c != d {
		panic(fmt.Sprintf("loss.VICReg: x %v and y %v must have the same shape", x.Shape(), y.Shape()))
	}
	if n < 2 {
		panic(fmt.Sprintf("loss.VICReg: the unbiased variance needs N ≥ 2 rows, got shape %v", x.Shape()))
	}
	if !(eps >= 0) {
		panic(fmt.Sprintf("loss.VICReg: eps must be ≥ 0, got %v", eps))
	}
	out := scalarNode("VICReg", x, y)
	tp := out.Tape()
	var terms VICRegTerms
	xd, yd := x.Data(), y.Data()
	for i := range xd {
		t := float64(xd[i]) - float64(yd[i])
		terms.Inv += t * t
	}
	terms.Inv /= float64(n * d)
	bx := vicregBranch(tp, xd, n, d, float64(eps))
	by := vicregBranch(tp, yd, n, d, float64(eps))
	terms.Var = (bx.hinge + by.hinge) / 2
	terms.Cov = bx.cov + by.cov
	terms.StdX, terms.StdY = bx.std, by.std
	out.Data()[0] = float32(float64(lambda)*terms.Inv + float64(mu)*terms.Var + float64(nu)*terms.Cov)

	if out.RequiresGrad() {
		out.SetBackward(func() {
			g := float64(out.Grad.Data[0])
			inv := float32(g * float64(lambda) * 2 / float64(n*d))
			tmp := tp.Alloc(false, n, d).Data
			for _, side := range []struct {
				v    *autodiff.Var
				b    *vicregStats
				sign float32
			}{{x, bx, 1}, {y, by, -1}} {
				if !side.v.RequiresGrad() {
					continue
				}
				side.b.backward(tmp, n, d, g, float64(mu), float64(nu))
				gv, s := side.v.GradBuf(), side.sign*inv
				parallel.For(len(gv), 1<<15, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						gv[i] += tmp[i] + s*(xd[i]-yd[i])
					}
				})
			}
		})
	}
	return out, terms
}

// vicregStats is one branch's centred values, covariance and terms.
type vicregStats struct {
	ac    []float32 // a − mean
	coff  []float32 // covariance with a zero diagonal
	std   []float64
	hinge float64 // mean_j relu(1 − std_j)
	cov   float64 // Σ_{j≠k} C_jk² / D
}

func vicregBranch(tp *autodiff.Tape, a []float32, n, d int, eps float64) *vicregStats {
	b := &vicregStats{ac: tp.Alloc(false, n, d).Data, coff: tp.Alloc(false, d, d).Data, std: make([]float64, d)}
	ss := centerColumns(b.ac, a, n, d)
	for j := range b.std {
		b.std[j] = math.Sqrt(ss[j]/float64(n-1) + eps)
		b.hinge += max(0, 1-b.std[j])
	}
	b.hinge /= float64(d)
	blas.Sgemm(true, false, d, d, n, 1/float32(n-1), b.ac, d, b.ac, d, 0, b.coff, d)
	for j := 0; j < d; j++ {
		b.coff[j*d+j] = 0
	}
	for _, v := range b.coff {
		b.cov += float64(v) * float64(v)
	}
	b.cov /= float64(d)
	return b
}

// backward writes into dst the gradient of μ·hinge/2 + ν·cov (times g) w.r.t. the branch input:
// d hinge_j/d a_nj = −[std_j < 1]·ac_nj / ((N−1)·std_j·D), d cov/d a = 4·ac·C_off / (D·(N−1)),
// then the centring's backward (subtract the column means).
func (b *vicregStats) backward(dst []float32, n, d int, g, mu, nu float64) {
	fv := make([]float32, d)
	for j, s := range b.std {
		if s < 1 && s > 0 { // s = 0 only with eps = 0 and a constant column, whose ac is 0
			fv[j] = float32(-g * mu / 2 / (float64(n-1) * s * float64(d)))
		}
	}
	parallel.For(n, rowGrain(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			for j := 0; j < d; j++ {
				dst[i*d+j] = fv[j] * b.ac[i*d+j]
			}
		}
	})
	blas.Sgemm(false, false, n, d, d, float32(g*nu*4/(float64(d)*float64(n-1))), b.ac, d, b.coff, d, 1, dst, d)
	subtractColumnMeans(dst, n, d)
}
