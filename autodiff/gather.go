package autodiff

import "github.com/contrastive-go/contrastive/dist"

// AllGather stacks the rows of x ([n, ...], the same shape on every rank of c) from every rank
// in rank order: the output is [size·n, ...] with rank r's x in rows r·n … (r+1)·n−1. It is the
// gather with gradient of data-parallel contrastive learning (the GatherLayer of lightly and
// solo-learn): when rank r computes a loss L_r from the gathered rows, the gradient of
// L = Σ_r L_r with respect to rank s's rows is
//
//	∂L/∂x_s = Σ_r (∂L_r/∂X)[rows of s]
//
// so the backward pass all-reduce-sums the gradient of the gathered rows over the ranks and keeps
// this rank's slice. (Returning only the own slice of ∂L_r/∂X, without the sum, is wrong whenever
// the ranks compute different losses.) Forward and backward are collectives: every rank must
// call AllGather, and run the backward pass through it, in the same order. With one rank it is
// the identity.
func AllGather(c dist.Comm, x *Var) *Var {
	xs := x.Shape()
	if len(xs) == 0 {
		panic("autodiff.AllGather: x must have a leading row dimension, got a scalar")
	}
	size, rank := c.Size(), c.Rank()
	shape := append([]int{size * xs[0]}, xs[1:]...)
	out := Node("AllGather", false, shape, x)
	c.AllGather(out.Data(), x.Data())
	if !out.requiresGrad {
		return out
	}
	out.backward = func() {
		g := out.Tape().Alloc(false, shape...).Data
		copy(g, out.Grad.Data)
		c.AllReduce(g)
		k := x.Value.Numel()
		mine := g[rank*k : (rank+1)*k]
		if gx, fresh := x.GradFresh(); fresh {
			copy(gx, mine)
		} else {
			for i, v := range mine {
				gx[i] += v
			}
		}
	}
	return out
}
