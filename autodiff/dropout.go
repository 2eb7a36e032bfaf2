package autodiff

import (
	"fmt"
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/parallel"
)

// Dropout zeroes each element of x independently with probability p and scales the survivors by
// 1/(1−p) (inverted dropout, as nn.Dropout), so that the expectation is unchanged:
//
//	y = x ⊙ m / (1−p),  m_i ~ Bernoulli(1−p)
//
// When training is false or p is 0 it is the identity and returns x itself. p = 1 gives zeros.
// The mask is drawn serially from rng (which must not be nil when it is needed), so a seeded rng
// gives a reproducible mask. Gradient: dx = dy ⊙ m / (1−p).
func Dropout(x *Var, p float32, rng *rand.Rand, training bool) *Var {
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("autodiff.Dropout: p must be in [0, 1], got %g for shape %v", p, x.Shape()))
	}
	if !training || p == 0 {
		return x
	}
	if rng == nil {
		panic(fmt.Sprintf("autodiff.Dropout: nil rng in training mode for shape %v", x.Shape()))
	}
	out := Node("Dropout", false, x.Shape(), x)
	tp := out.tape
	mask := tp.Alloc(false, x.Shape()...).Data // 0 or 1/(1−p) per element
	keep := float32(0)
	if p < 1 {
		keep = 1 / (1 - p)
	}
	for i := range mask {
		if rng.Float32() < p {
			mask[i] = 0
		} else {
			mask[i] = keep
		}
	}
	xd, y := x.Data(), out.Data()
	parallel.For(len(y), grainElems, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			y[i] = xd[i] * mask[i]
		}
	})
	if out.requiresGrad {
		out.backward = func() {
			g, gx := out.Grad.Data, x.GradBuf()
			parallel.For(len(g), grainElems, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					gx[i] += g[i] * mask[i]
				}
			})
		}
	}
	return out
}
