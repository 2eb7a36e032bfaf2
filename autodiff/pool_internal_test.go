package autodiff

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/tensor"
)

// maxPoolReference is a max pool over −∞-padded windows, the first maximum in row-major order
// winning and a NaN winning (the last NaN of a window); it returns the outputs and their
// argmaxes (indices into x).
func maxPoolReference(x []float32, nc, h, w, k, s, pad int) (y []float32, arg []int) {
	ho, wo := (h+2*pad-k)/s+1, (w+2*pad-k)/s+1
	for pl := range nc {
		for oy := range ho {
			for ox := range wo {
				best, bi := float32(math.Inf(-1)), -1
				for ky := range k {
					for kx := range k {
						iy, ix := oy*s-pad+ky, ox*s-pad+kx
						if iy < 0 || iy >= h || ix < 0 || ix >= w {
							continue
						}
						i := (pl*h+iy)*w + ix
						if v := x[i]; bi < 0 || v > best || v != v {
							best, bi = v, i
						}
					}
				}
				y, arg = append(y, best), append(arg, bi)
			}
		}
	}
	return y, arg
}

// TestMaxPoolKernelMatchesReference checks MaxPool2dPadded against maxPoolReference bit for bit,
// values and gradient, on planes wide enough for the assembly kernel (one group, several, a last
// overlapping one, exactly 16) and with it switched off: values drawn from a few levels so that
// windows tie, signed zeros, infinities and NaNs of both signs and several payloads. The gradient
// goes into a fresh buffer that the tape's pool hands out holding garbage, or is added to one x
// already has.
func TestMaxPoolKernelMatchesReference(t *testing.T) {
	defer func(v bool) { maxPoolAsm = v }(maxPoolAsm)
	rng := rand.New(rand.NewPCG(7, 8))
	levels := []float32{-2, -1, float32(math.Copysign(0, -1)), 0, 0.5, 1, 3, float32(math.Inf(1)), float32(math.Inf(-1))}
	nans := []uint32{0x7fc00000, 0xffc00000, 0x7fc00001, 0xffc12345, 0x7f800001}
	for _, on := range []bool{true, false} {
		maxPoolAsm = on && maxPoolAsm
		for _, c := range []struct{ n, h, w, k, s, p int }{
			{2, 48, 48, 3, 2, 1}, {1, 47, 45, 3, 2, 1}, {1, 40, 66, 3, 2, 0}, {2, 35, 34, 3, 2, 1},
			{1, 36, 35, 3, 2, 1}, {1, 9, 97, 3, 2, 1}, {1, 12, 33, 3, 2, 0}, {1, 20, 50, 3, 1, 1},
		} {
			for _, grad := range []bool{true, false} {
				x := tensor.New(c.n, 3, c.h, c.w)
				for i := range x.Data {
					switch r := rng.IntN(100); {
					case r < 2:
						x.Data[i] = math.Float32frombits(nans[rng.IntN(len(nans))])
					case r < 50:
						x.Data[i] = levels[rng.IntN(len(levels))]
					default:
						x.Data[i] = float32(rng.NormFloat64())
					}
				}
				tp := NewTape()
				// A buffer of x's shape full of garbage goes back to the tape's pool, which hands
				// it out again as x's fresh gradient buffer.
				fill(tp.Alloc(false, x.Shape...).Data, 7)
				tp.Reset()
				xv := tp.Constant(x)
				if grad {
					xv = tp.Variable(x)
				}
				got := MaxPool2dPadded(xv, c.k, c.s, c.p)
				want, arg := maxPoolReference(x.Data, c.n*3, c.h, c.w, c.k, c.s, c.p)
				for o, w := range want {
					if g := got.Data()[o]; math.Float32bits(g) != math.Float32bits(w) {
						t.Fatalf("asm %v %+v grad %v: out[%d] = %v (%#x), want %v (%#x)", on, c, grad, o, g, math.Float32bits(g), w, math.Float32bits(w))
					}
				}
				if !grad {
					continue
				}
				r := tensor.New(got.Shape()...)
				for i := range r.Data {
					r.Data[i] = float32(rng.NormFloat64())
				}
				// Every other case x already has a gradient, which the backward adds to.
				wantGrad := make([]float32, len(x.Data))
				if c.h%2 == 1 {
					xv.Grad = tensor.New(x.Shape...)
					for i := range wantGrad {
						xv.Grad.Data[i], wantGrad[i] = 0.25, 0.25
					}
				}
				runBackward(got, r)
				for o, i := range arg {
					wantGrad[i] += r.Data[o]
				}
				for i, w := range wantGrad {
					if g := xv.Grad.Data[i]; math.Float32bits(g) != math.Float32bits(w) {
						t.Fatalf("asm %v %+v: grad[%d] = %v, want %v", on, c, i, g, w)
					}
				}
			}
		}
	}
}
