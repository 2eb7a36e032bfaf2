package autodiff

import (
	"fmt"

	"github.com/contrastive-go/contrastive/parallel"
	"github.com/contrastive-go/contrastive/tensor"
)

// Reshape returns x with a new shape of the same number of elements; one dimension may be -1 and
// is then inferred. The result is a view: it shares x's data (no copy) and is not owned by the
// tape, so it stays valid exactly as long as x does. Its gradient is its own buffer, added into
// x's gradient on Backward, so a Var used both directly and through a reshape gets both parts.
func Reshape(x *Var, shape ...int) *Var {
	newShape := func() []int {
		defer func() {
			if r := recover(); r != nil {
				panic(fmt.Sprintf("autodiff.Reshape: cannot reshape %v (%d elements) into %v", x.Shape(), x.Value.Numel(), shape))
			}
		}()
		return tensor.InferShape(x.Data(), x.Shape(), shape)
	}()
	return view("Reshape", x, newShape)
}

// view makes a node whose value shares x's data under another shape; its gradient is added
// elementwise into x's.
func view(op string, x *Var, shape []int) *Var {
	tp := tapeOf(op, x)
	out := &Var{Value: &tensor.Tensor{Shape: shape, Data: x.Value.Data}, tape: tp}
	if !tp.NoGrad && x.requiresGrad {
		out.requiresGrad = true
		tp.nodes = append(tp.nodes, out)
		out.backward = func() {
			g, gx := out.Grad.Data, x.GradBuf()
			parallel.For(len(g), grainElems, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					gx[i] += g[i]
				}
			})
		}
	}
	return out
}

// Transpose returns the transpose of a 2-D x: y[j, i] = x[i, j]. It copies. Gradient: dx = dyᵀ.
func Transpose(x *Var) *Var {
	if x.Value.Dims() != 2 {
		panic(fmt.Sprintf("autodiff.Transpose: input must be 2-D, got %v", x.Shape()))
	}
	return permute("Transpose", x, []int{1, 0})
}

// Permute returns x with its dimensions reordered: output dimension d is input dimension perm[d],
//
//	y[i₀, …, i_{r−1}] = x[j] with j[perm[d]] = i_d,
//
// (torch.permute). It copies. Gradient: the inverse permutation of dy, added into dx.
func Permute(x *Var, perm ...int) *Var { return permute("Permute", x, perm) }

func permute(op string, x *Var, perm []int) *Var {
	shape := x.Shape()
	r := len(shape)
	if len(perm) != r {
		panic(fmt.Sprintf("autodiff.%s: permutation %v does not match shape %v", op, perm, shape))
	}
	seen := make([]bool, r)
	for _, p := range perm {
		if p < 0 || p >= r || seen[p] {
			panic(fmt.Sprintf("autodiff.%s: %v is not a permutation of the axes of shape %v", op, perm, shape))
		}
		seen[p] = true
	}
	inStride := make([]int, r)
	s := 1
	for d := r - 1; d >= 0; d-- {
		inStride[d] = s
		s *= shape[d]
	}
	outShape := make([]int, r)
	strides := make([]int, r) // input stride of each output dimension
	for d, p := range perm {
		outShape[d] = shape[p]
		strides[d] = inStride[p]
	}
	out := Node(op, false, outShape, x)
	src, dst := x.Data(), out.Data()
	stridedRuns(outShape, strides, func(i, off, n, stride int) {
		for t := 0; t < n; t++ {
			dst[i+t] = src[off+t*stride]
		}
	})
	if out.requiresGrad {
		out.backward = func() {
			g, gx := out.Grad.Data, x.GradBuf()
			stridedRuns(outShape, strides, func(i, off, n, stride int) {
				for t := 0; t < n; t++ {
					gx[off+t*stride] += g[i+t]
				}
			})
		}
	}
	return out
}

// stridedRuns walks the output of a strided gather in parallel: for each run of consecutive output
// elements along the last dimension it calls fn(i, off, n, stride), meaning output elements
// i … i+n−1 come from input offsets off, off+stride, …. Distinct outputs map to distinct inputs,
// so fn may scatter into the input without synchronisation.
func stridedRuns(shape, strides []int, fn func(i, off, n, stride int)) {
	r := len(shape)
	if r == 0 {
		fn(0, 0, 1, 1)
		return
	}
	last := shape[r-1]
	rows := tensor.Numel(shape[:r-1])
	if last == 0 || rows == 0 {
		return
	}
	parallel.For(rows, max(1, grainElems/last), func(lo, hi int) {
		idx := make([]int, r-1)
		off := 0
		rem := lo
		for d := r - 2; d >= 0; d-- { // multi-index of row lo
			idx[d] = rem % shape[d]
			rem /= shape[d]
			off += idx[d] * strides[d]
		}
		for row := lo; row < hi; row++ {
			fn(row*last, off, last, strides[r-1])
			for d := r - 2; d >= 0; d-- {
				idx[d]++
				off += strides[d]
				if idx[d] < shape[d] {
					break
				}
				off -= strides[d] * idx[d]
				idx[d] = 0
			}
		}
	})
}

// Concat joins xs along axis (negative counts from the end; torch.cat). Every input must have the
// same rank and the same size in every other dimension. It copies. Gradient: each input receives
// its slice of dy.
func Concat(axis int, xs ...*Var) *Var {
	if len(xs) == 0 {
		panic("autodiff.Concat: no inputs")
	}
	shapes := make([][]int, len(xs))
	for i, x := range xs {
		shapes[i] = x.Shape()
	}
	first := xs[0].Shape()
	ax := normAxis("Concat", axis, first)
	total := 0
	for _, x := range xs {
		s := x.Shape()
		if len(s) != len(first) {
			panic(fmt.Sprintf("autodiff.Concat: ranks differ along axis %d in shapes %v", axis, shapes))
		}
		for d := range s {
			if d != ax && s[d] != first[d] {
				panic(fmt.Sprintf("autodiff.Concat: shapes %v differ outside axis %d", shapes, axis))
			}
		}
		total += s[ax]
	}
	outShape := append([]int(nil), first...)
	outShape[ax] = total
	outer, _, inner := axisSplit(outShape, ax)
	width := total * inner // output row length in the [outer, width] view
	out := Node("Concat", false, outShape, xs...)
	y := out.Data()
	offsets := make([]int, len(xs)) // column offset of each input in an output row
	col := 0
	for i, x := range xs {
		offsets[i] = col
		w := x.Shape()[ax] * inner
		copyRows(x.Data(), y, outer, w, w, 0, width, col, false)
		col += w
	}
	if out.requiresGrad {
		out.backward = func() {
			g := out.Grad.Data
			for i, x := range xs {
				if x.requiresGrad {
					w := x.Shape()[ax] * inner
					copyRows(g, x.GradBuf(), outer, w, width, offsets[i], w, 0, true)
				}
			}
		}
	}
	return out
}

// copyRows copies (or adds, when acc) rows of w values: dst[r·dstW + dstOff + c] (+)=
// src[r·srcW + srcOff + c] for r < rows, c < w, spread over goroutines.
func copyRows(src, dst []float32, rows, w, srcW, srcOff, dstW, dstOff int, acc bool) {
	if w == 0 {
		return
	}
	parallel.For(rows, max(1, grainElems/w), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			s := src[r*srcW+srcOff : r*srcW+srcOff+w]
			d := dst[r*dstW+dstOff : r*dstW+dstOff+w]
			if acc {
				for c, v := range s {
					d[c] += v
				}
			} else {
				copy(d, s)
			}
		}
	})
}

// Slice returns the elements of x with index in [start, end) along axis (negative axis counts from
// the end; x.narrow(axis, start, end−start) in PyTorch). It needs 0 ≤ start ≤ end ≤ size and
// copies. Gradient: dy is added into that range of dx; the rest receives nothing.
func Slice(x *Var, axis, start, end int) *Var {
	ax := normAxis("Slice", axis, x.Shape())
	outer, n, inner := axisSplit(x.Shape(), ax)
	if start < 0 || end < start || end > n {
		panic(fmt.Sprintf("autodiff.Slice: range [%d, %d) out of bounds for axis %d of shape %v", start, end, axis, x.Shape()))
	}
	outShape := append([]int(nil), x.Shape()...)
	outShape[ax] = end - start
	out := Node("Slice", false, outShape, x)
	w := (end - start) * inner
	copyRows(x.Data(), out.Data(), outer, w, n*inner, start*inner, w, 0, false)
	if out.requiresGrad {
		out.backward = func() {
			copyRows(out.Grad.Data, x.GradBuf(), outer, w, w, 0, n*inner, start*inner, true)
		}
	}
	return out
}
