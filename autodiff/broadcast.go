package autodiff

import (
	"fmt"

	"github.com/contrastive-go/contrastive/parallel"
	"github.com/contrastive-go/contrastive/tensor"
)

// broadcasting follows NumPy's rules: shapes are aligned at the right; a dimension of size 1 (or a
// missing one) stretches to the other operand's size.
type broadcasting struct {
	out     []int
	sa, sb  []int // strides of a and b in the output's dimensions (0 where broadcast)
	same    bool  // a, b and out all have one shape
	scalarB bool  // b has one element
}

func broadcastShapes(op string, a, b []int) broadcasting {
	n := max(len(a), len(b))
	bc := broadcasting{out: make([]int, n), sa: make([]int, n), sb: make([]int, n)}
	strideA, strideB := 1, 1
	for i := n - 1; i >= 0; i-- {
		da, db := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			bc.out[i] = da
		case da == 1:
			bc.out[i] = db
		case db == 1:
			bc.out[i] = da
		default:
			panic(fmt.Sprintf("autodiff.%s: shapes %v and %v do not broadcast", op, a, b))
		}
		if da != 1 || bc.out[i] == 1 {
			bc.sa[i] = strideA
		}
		if db != 1 || bc.out[i] == 1 {
			bc.sb[i] = strideB
		}
		strideA *= da
		strideB *= db
	}
	bc.same = tensor.SameShape(a, b)
	bc.scalarB = strideB == 1
	return bc
}

// each calls fn(i, ia, ib) for every output index i with the matching indices into a and b, in order.
func (bc broadcasting) each(fn func(i, ia, ib int)) {
	n := 1
	for _, d := range bc.out {
		n *= d
	}
	if n == 0 {
		return
	}
	idx := make([]int, len(bc.out))
	ia, ib := 0, 0
	for i := 0; i < n; i++ {
		fn(i, ia, ib)
		for d := len(bc.out) - 1; d >= 0; d-- {
			idx[d]++
			ia += bc.sa[d]
			ib += bc.sb[d]
			if idx[d] < bc.out[d] {
				break
			}
			ia -= bc.sa[d] * idx[d]
			ib -= bc.sb[d] * idx[d]
			idx[d] = 0
		}
	}
}

// binary implements an elementwise op with broadcasting. f computes the value; da and db return the
// partial derivatives with respect to each operand given (x, y, f(x,y)).
func binary(op string, a, b *Var, f func(x, y float32) float32, da, db func(x, y, z float32) float32) *Var {
	bc := broadcastShapes(op, a.Shape(), b.Shape())
	out := Node(op, false, bc.out, a, b)
	x, y, z := a.Data(), b.Data(), out.Data()
	switch {
	case bc.same:
		parallel.For(len(z), 1<<14, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				z[i] = f(x[i], y[i])
			}
		})
	case bc.scalarB && tensor.SameShape(a.Shape(), bc.out):
		s := y[0]
		parallel.For(len(z), 1<<14, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				z[i] = f(x[i], s)
			}
		})
	default:
		bc.each(func(i, ia, ib int) { z[i] = f(x[ia], y[ib]) })
	}
	if !out.requiresGrad {
		return out
	}
	out.backward = func() {
		g := out.Grad.Data
		if bc.same {
			if a.requiresGrad {
				ga := a.GradBuf()
				parallel.For(len(z), 1<<14, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						ga[i] += g[i] * da(x[i], y[i], z[i])
					}
				})
			}
			if b.requiresGrad {
				gb := b.GradBuf()
				parallel.For(len(z), 1<<14, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						gb[i] += g[i] * db(x[i], y[i], z[i])
					}
				})
			}
			return
		}
		var ga, gb []float32
		if a.requiresGrad {
			ga = a.GradBuf()
		}
		if b.requiresGrad {
			gb = b.GradBuf()
		}
		bc.each(func(i, ia, ib int) {
			if ga != nil {
				ga[ia] += g[i] * da(x[ia], y[ib], z[i])
			}
			if gb != nil {
				gb[ib] += g[i] * db(x[ia], y[ib], z[i])
			}
		})
	}
	return out
}

// Add returns a + b with broadcasting.
func Add(a, b *Var) *Var {
	if tensor.SameShape(a.Shape(), b.Shape()) {
		return sameShape("Add", a, b, opAdd)
	}
	return binary("Add", a, b, func(x, y float32) float32 { return x + y },
		func(x, y, z float32) float32 { return 1 }, func(x, y, z float32) float32 { return 1 })
}

// Sub returns a − b with broadcasting.
func Sub(a, b *Var) *Var {
	if tensor.SameShape(a.Shape(), b.Shape()) {
		return sameShape("Sub", a, b, opSub)
	}
	return binary("Sub", a, b, func(x, y float32) float32 { return x - y },
		func(x, y, z float32) float32 { return 1 }, func(x, y, z float32) float32 { return -1 })
}

// Mul returns a ⊙ b (elementwise) with broadcasting.
func Mul(a, b *Var) *Var {
	if tensor.SameShape(a.Shape(), b.Shape()) {
		return sameShape("Mul", a, b, opMul)
	}
	return binary("Mul", a, b, func(x, y float32) float32 { return x * y },
		func(x, y, z float32) float32 { return y }, func(x, y, z float32) float32 { return x })
}

// Div returns a / b (elementwise) with broadcasting.
func Div(a, b *Var) *Var {
	return binary("Div", a, b, func(x, y float32) float32 { return x / y },
		func(x, y, z float32) float32 { return 1 / y }, func(x, y, z float32) float32 { return -z / y })
}

// Same-shape Add, Sub and Mul (a residual connection, a mask) run these direct loops instead of
// binary's per-element calls through function values (measured 2–3 ns per element, against
// well under 1 here).
const (
	opAdd = iota
	opSub
	opMul
)

func sameShape(name string, a, b *Var, op int) *Var {
	out := Node(name, false, a.Shape(), a, b)
	x, y, z := a.Data(), b.Data(), out.Data()
	parallel.For(len(z), 1<<14, func(lo, hi int) {
		x, y, z := x[lo:hi], y[lo:hi], z[lo:hi]
		switch op {
		case opAdd:
			for i := range z {
				z[i] = x[i] + y[i]
			}
		case opSub:
			for i := range z {
				z[i] = x[i] - y[i]
			}
		default:
			for i := range z {
				z[i] = x[i] * y[i]
			}
		}
	})
	if !out.requiresGrad {
		return out
	}
	out.backward = func() {
		g := out.Grad.Data
		// da = 1 (Add, Sub) or y (Mul); db = 1 (Add), −1 (Sub) or x (Mul).
		signB := float32(1)
		if op == opSub {
			signB = -1
		}
		for _, side := range []struct {
			v     *Var
			other []float32
			sign  float32
		}{{a, y, 1}, {b, x, signB}} {
			if !side.v.requiresGrad {
				continue
			}
			// A fresh buffer (the operand's first gradient) is written, not cleared and added to.
			gv, fresh := side.v.GradFresh()
			parallel.For(len(g), 1<<14, func(lo, hi int) {
				gv, g := gv[lo:hi], g[lo:hi]
				switch {
				case op == opMul && fresh:
					o := side.other[lo:hi]
					for i := range gv {
						gv[i] = g[i] * o[i]
					}
				case op == opMul:
					o := side.other[lo:hi]
					for i := range gv {
						gv[i] += g[i] * o[i]
					}
				case side.sign < 0 && fresh:
					for i := range gv {
						gv[i] = -g[i]
					}
				case side.sign < 0:
					for i := range gv {
						gv[i] -= g[i]
					}
				case fresh:
					copy(gv, g)
				default:
					for i := range gv {
						gv[i] += g[i]
					}
				}
			})
		}
	}
	return out
}
