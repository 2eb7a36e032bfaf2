package autodiff

import (
	"fmt"

	"github.com/contrastive-go/contrastive/parallel"
)

// grainElems is the number of elements a goroutine should at least handle in the reductions and
// shape ops of this package: below it, parallel.For runs the loop on the calling goroutine.
const grainElems = 1 << 14

// normAxis resolves a possibly negative axis against a shape of rank dims, panicking with op and
// shape when it is out of range.
func normAxis(op string, axis int, shape []int) int {
	a := axis
	if a < 0 {
		a += len(shape)
	}
	if a < 0 || a >= len(shape) {
		panic(fmt.Sprintf("autodiff.%s: axis %d out of range for shape %v", op, axis, shape))
	}
	return a
}

// axisSplit views a shape as [outer, n, inner] around axis: outer is the product of the
// dimensions before it, n its size and inner the product of those after it.
func axisSplit(shape []int, axis int) (outer, n, inner int) {
	outer, inner = 1, 1
	for i, d := range shape {
		switch {
		case i < axis:
			outer *= d
		case i > axis:
			inner *= d
		}
	}
	return outer, shape[axis], inner
}

// reducedShape is shape without axis, or with a 1 in its place when keepDim. Reducing the only
// dimension without keepDim gives [1], as the engine has no 0-D tensors.
func reducedShape(shape []int, axis int, keepDim bool) []int {
	out := make([]int, 0, len(shape))
	for i, d := range shape {
		switch {
		case i != axis:
			out = append(out, d)
		case keepDim:
			out = append(out, 1)
		}
	}
	if len(out) == 0 {
		out = append(out, 1)
	}
	return out
}

// columns calls fn(o, k0, k1) for the pieces of the flattened [outer, inner] output index range
// [lo, hi) that lie in one outer block o: output indices o·inner+k for k in [k0, k1).
func columns(lo, hi, inner int, fn func(o, k0, k1 int)) {
	for c := lo; c < hi; {
		o, k0 := c/inner, c%inner
		k1 := min(inner, k0+hi-c)
		fn(o, k0, k1)
		c += k1 - k0
	}
}

// reduceGrain is the number of outputs one goroutine handles so that it reads about grainElems
// inputs when each output reduces n of them.
func reduceGrain(n int) int { return max(1, grainElems/max(n, 1)) }

// sumAxis writes scale·Σ_j x[o, j, k] into y[o, k], accumulating in float64. The output range is
// split over goroutines; each accumulates whole rows of inner values so that reads stay contiguous.
func sumAxis(x, y []float32, outer, n, inner int, scale float64) {
	if inner == 1 { // contiguous rows
		parallel.For(outer, reduceGrain(n), func(lo, hi int) {
			for o := lo; o < hi; o++ {
				var a float64
				for _, v := range x[o*n : (o+1)*n] {
					a += float64(v)
				}
				y[o] = float32(a * scale)
			}
		})
		return
	}
	parallel.For(outer*inner, reduceGrain(n), func(lo, hi int) {
		acc := make([]float64, min(inner, hi-lo))
		columns(lo, hi, inner, func(o, k0, k1 int) {
			a := acc[:k1-k0]
			clear(a)
			base := o * n * inner
			for j := 0; j < n; j++ {
				row := x[base+j*inner+k0 : base+j*inner+k1]
				for k, v := range row {
					a[k] += float64(v)
				}
			}
			dst := y[o*inner+k0 : o*inner+k1]
			for k := range dst {
				dst[k] = float32(a[k] * scale)
			}
		})
	})
}

// spreadAxis adds scale·g[o, k] to every gx[o, j, k] (the adjoint of sumAxis).
func spreadAxis(g, gx []float32, outer, n, inner int, scale float32) {
	if inner == 1 {
		parallel.For(outer, reduceGrain(n), func(lo, hi int) {
			for o := lo; o < hi; o++ {
				v := scale * g[o]
				for j := o * n; j < (o+1)*n; j++ {
					gx[j] += v
				}
			}
		})
		return
	}
	parallel.For(outer*n, max(1, grainElems/max(inner, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o := r / n
			src := g[o*inner : (o+1)*inner]
			dst := gx[r*inner : (r+1)*inner]
			for k, v := range src {
				dst[k] += scale * v
			}
		}
	})
}

// reduce implements Sum (scale 1) and Mean (scale 1/n).
func reduce(op string, x *Var, axis int, keepDim, mean bool) *Var {
	ax := normAxis(op, axis, x.Shape())
	outer, n, inner := axisSplit(x.Shape(), ax)
	if mean && n == 0 {
		panic(fmt.Sprintf("autodiff.%s: axis %d of shape %v is empty", op, axis, x.Shape()))
	}
	scale := 1.0
	if mean {
		scale = 1 / float64(n)
	}
	out := Node(op, false, reducedShape(x.Shape(), ax, keepDim), x)
	sumAxis(x.Data(), out.Data(), outer, n, inner, scale)
	if out.requiresGrad {
		out.backward = func() {
			spreadAxis(out.Grad.Data, x.GradBuf(), outer, n, inner, float32(scale))
		}
	}
	return out
}

// Sum returns the sum of x over one axis (negative counts from the end):
//
//	y[…, k, …] = Σ_j x[…, j, k, …]
//
// keepDim keeps the reduced axis with size 1; without it the axis is dropped (a 1-D input gives
// [1]). Sums accumulate in float64. Gradient: dx[…, j, …] = dy[…] for every j.
func Sum(x *Var, axis int, keepDim bool) *Var { return reduce("Sum", x, axis, keepDim, false) }

// Mean returns the mean of x over one axis (negative counts from the end):
//
//	y = (1/n) Σ_j x[…, j, …],  n = x.Shape()[axis]
//
// keepDim as in Sum. Gradient: dx[…, j, …] = dy[…]/n. An empty axis panics.
func Mean(x *Var, axis int, keepDim bool) *Var { return reduce("Mean", x, axis, keepDim, true) }
