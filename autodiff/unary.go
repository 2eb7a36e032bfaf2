package autodiff

import (
	"github.com/contrastive-go/contrastive/internal/vec"
	"github.com/contrastive-go/contrastive/parallel"
)

// Unary implements an elementwise op y = f(x) whose derivative d(x, y) may use the input or the
// output. It is exported so that packages above can add elementwise ops without touching the tape.
func Unary(op string, a *Var, f func(x float32) float32, d func(x, y float32) float32) *Var {
	out := Node(op, false, a.Shape(), a)
	x, y := a.Data(), out.Data()
	parallel.For(len(y), 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			y[i] = f(x[i])
		}
	})
	if out.requiresGrad {
		out.backward = func() {
			g, ga := out.Grad.Data, a.GradBuf()
			parallel.For(len(y), 1<<14, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					ga[i] += g[i] * d(x[i], y[i])
				}
			})
		}
	}
	return out
}

// ReLU returns max(x, 0); NaN stays NaN. Its gradient at exactly 0 is 0, as in PyTorch.
func ReLU(a *Var) *Var {
	out := Node("ReLU", false, a.Shape(), a)
	x, y := a.Data(), out.Data()
	parallel.For(len(y), 1<<15, func(lo, hi int) {
		vec.AffineReLU(y[lo:hi], x[lo:hi], 1, 0, 0) // max(0, x); NaN stays NaN, as in PyTorch
	})
	if out.requiresGrad {
		out.backward = func() {
			g := out.Grad.Data
			ga, fresh := a.GradFresh()
			parallel.For(len(y), 1<<15, func(lo, hi int) {
				if fresh {
					vec.SelectPositive(ga[lo:hi], g[lo:hi], x[lo:hi])
				} else {
					vec.AddPositive(ga[lo:hi], g[lo:hi], x[lo:hi])
				}
			})
		}
	}
	return out
}

// Scale returns s·x.
func Scale(a *Var, s float32) *Var {
	return Unary("Scale", a, func(x float32) float32 { return s * x }, func(x, y float32) float32 { return s })
}
