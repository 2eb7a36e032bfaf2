package autodiff

import (
	"fmt"
	"unsafe"

	"github.com/contrastive-go/contrastive/internal/im2col"
	"github.com/contrastive-go/contrastive/internal/vec"
	"github.com/contrastive-go/contrastive/parallel"
)

// poolGeom checks a pooling op's input x [N,C,H,W], kernel, stride and padding, panicking with
// the op's name and the shapes, and returns the window geometry of one channel plane (floor
// mode: Ho = ⌊(H + 2·pad − kernel)/stride⌋ + 1).
func poolGeom(op string, x *Var, kernel, stride, pad int) (n, c int, g im2col.ConvGeom) {
	xs := x.Shape()
	if len(xs) != 4 {
		panic(fmt.Sprintf("autodiff.%s: x must be [N,C,H,W], got %v", op, xs))
	}
	if kernel < 1 || stride < 1 {
		panic(fmt.Sprintf("autodiff.%s: kernel %d and stride %d must be ≥ 1 (x %v)", op, kernel, stride, xs))
	}
	if pad < 0 || 2*pad > kernel {
		panic(fmt.Sprintf("autodiff.%s: padding %d must be in [0, kernel/2] (kernel %d, x %v)", op, pad, kernel, xs))
	}
	if kernel > xs[2]+2*pad || kernel > xs[3]+2*pad {
		panic(fmt.Sprintf("autodiff.%s: kernel %d larger than the input plane %dx%d (x %v)", op, kernel, xs[2], xs[3], xs))
	}
	return xs[0], xs[1], im2col.NewConvGeom("autodiff."+op, 1, xs[2], xs[3], kernel, kernel, stride, pad)
}

// MaxPool2d takes the maximum over kernel×kernel windows moved by stride, without padding, in floor
// mode (a last partial row or column of windows is dropped), for x [N,C,H,W]:
//
//	out[n,c,y,x] = max_{ky,kx < kernel} x[n,c, y·stride+ky, x·stride+kx].
//
// The gradient goes entirely to the window's maximum; on ties the first in row-major window order
// wins (PyTorch's CPU convention).
func MaxPool2d(x *Var, kernel, stride int) *Var { return MaxPool2dPadded(x, kernel, stride, 0) }

// MaxPool2dPadded is MaxPool2d with pad rows and columns of −∞ around every plane (PyTorch's
// padding), without building the padded copy: the windows skip the positions outside the plane,
// and Ho = ⌊(H + 2·pad − kernel)/stride⌋ + 1. pad must be at most kernel/2, as in PyTorch.
func MaxPool2dPadded(x *Var, kernel, stride, pad int) *Var {
	n, c, g := poolGeom("MaxPool2d", x, kernel, stride, pad)
	out := Node("MaxPool2d", false, []int{n, c, g.Ho, g.Wo}, x)
	hw, p := g.H*g.W, g.Ho*g.Wo
	xv, y := x.Data(), out.Data()
	var arg []int32
	if out.requiresGrad {
		// The argmax indices live in a tape buffer (a float32 one, read as int32), released by
		// Reset with the rest, rather than in garbage made every step.
		buf := out.tape.Alloc(false, len(y)).Data
		arg = unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(buf))), len(buf))
	}
	// The 3×3 stride-2 windows inside the plane (ResNet's stem pool: columns oxa ≤ ox < oxb of
	// the rows whose windows are inside) go to the assembly kernel when there are at least 16 in
	// a row, 16 at a time; a last partial group overlaps the one before it.
	oxa, oxb := (pad+1)/2, min(g.Wo, (g.W-3+pad)/2+1)
	asm := maxPoolAsm && kernel == 3 && stride == 2 && oxb-oxa >= 16
	parallel.For(n*c, 8, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			src := xv[pl*hw : (pl+1)*hw]
			for oy := 0; oy < g.Ho; oy++ {
				y0 := oy*stride - pad
				ky0, ky1 := max(0, -y0), min(kernel, g.H-y0)
				skip := asm && ky0 == 0 && ky1 == 3
				if skip {
					maxPool3s2Row(y, arg, src, pl*p+oy*g.Wo, y0*g.W-pad, g.W, oxa, oxb)
				}
				for ox := 0; ox < g.Wo; ox++ {
					if skip && ox == oxa {
						ox = oxb - 1
						continue
					}
					x0 := ox*stride - pad
					kx0, kx1 := max(0, -x0), min(kernel, g.W-x0)
					if kernel == 3 && ky0 == 0 && ky1 == 3 && kx0 == 0 && kx1 == 3 {
						// A 3×3 window inside the plane (ResNet's stem pool): the loop below
						// unrolled, the same comparisons in the same order.
						b := y0*g.W + x0
						r0, r1, r2 := src[b:b+3:b+3], src[b+g.W:b+g.W+3:b+g.W+3], src[b+2*g.W:b+2*g.W+3:b+2*g.W+3]
						best, at := r0[0], b
						if v := r0[1]; v > best || v != v {
							best, at = v, b+1
						}
						if v := r0[2]; v > best || v != v {
							best, at = v, b+2
						}
						if v := r1[0]; v > best || v != v {
							best, at = v, b+g.W
						}
						if v := r1[1]; v > best || v != v {
							best, at = v, b+g.W+1
						}
						if v := r1[2]; v > best || v != v {
							best, at = v, b+g.W+2
						}
						if v := r2[0]; v > best || v != v {
							best, at = v, b+2*g.W
						}
						if v := r2[1]; v > best || v != v {
							best, at = v, b+2*g.W+1
						}
						if v := r2[2]; v > best || v != v {
							best, at = v, b+2*g.W+2
						}
						o := pl*p + oy*g.Wo + ox
						y[o] = best
						if arg != nil {
							arg[o] = int32(at)
						}
						continue
					}
					bi := (y0+ky0)*g.W + x0 + kx0
					best := src[bi]
					for ky := ky0; ky < ky1; ky++ {
						row := (y0+ky)*g.W + x0
						for kx := kx0; kx < kx1; kx++ {
							// A NaN is taken, as in PyTorch (val > max || isnan(val)).
							if v := src[row+kx]; v > best || v != v {
								best, bi = v, row+kx
							}
						}
					}
					o := pl*p + oy*g.Wo + ox
					y[o] = best
					if arg != nil {
						arg[o] = int32(bi)
					}
				}
			}
		}
	})
	if out.requiresGrad {
		out.backward = func() {
			// A fresh gradient buffer is cleared a plane at a time just before the plane's
			// scatter, while it is in cache, rather than all at once beforehand.
			gy := out.Grad.Data
			gx, fresh := x.GradFresh()
			parallel.For(n*c, 8, func(lo, hi int) {
				for pl := lo; pl < hi; pl++ {
					dst, a, g := gx[pl*hw:(pl+1)*hw], arg[pl*p:(pl+1)*p], gy[pl*p:(pl+1)*p]
					if fresh {
						clear(dst)
					}
					for o, i := range a {
						dst[i] += g[o]
					}
				}
			})
		}
	}
	return out
}

// maxPool3s2Row runs maxPool3s2AVX512 on the outputs oxa ≤ ox < oxb (oxb − oxa ≥ 16) of the
// output row starting at y[o], whose window for ox has its top left at src[b+2·ox], rows w apart.
func maxPool3s2Row(y []float32, arg []int32, src []float32, o, b, w, oxa, oxb int) {
	run := func(ox, groups int) {
		var a *int32
		if arg != nil {
			a = &arg[o+ox]
		}
		maxPool3s2AVX512(&y[o+ox], a, &src[0], b+2*ox, w, groups)
	}
	// The kernel's last reads and writes, checked here since it does not.
	_, _ = src[b+2*(oxb-1)+2*w+2], y[o+oxb-1]
	if arg != nil {
		_ = arg[o+oxb-1]
	}
	n := oxb - oxa
	run(oxa, n/16)
	if n%16 != 0 {
		run(oxb-16, 1)
	}
}

// AvgPool2d averages kernel×kernel windows moved by stride, without padding, in floor mode, for x
// [N,C,H,W]:
//
//	out[n,c,y,x] = (1/kernel²) Σ_{ky,kx < kernel} x[n,c, y·stride+ky, x·stride+kx].
//
// Gradient: each input of a window receives dS/dout / kernel².
func AvgPool2d(x *Var, kernel, stride int) *Var {
	n, c, g := poolGeom("AvgPool2d", x, kernel, stride, 0)
	out := Node("AvgPool2d", false, []int{n, c, g.Ho, g.Wo}, x)
	hw, p := g.H*g.W, g.Ho*g.Wo
	inv := 1 / float32(kernel*kernel)
	xv, y := x.Data(), out.Data()
	parallel.For(n*c, 8, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			src := xv[pl*hw : (pl+1)*hw]
			for oy := 0; oy < g.Ho; oy++ {
				for ox := 0; ox < g.Wo; ox++ {
					base := oy*stride*g.W + ox*stride
					var s float32
					for ky := 0; ky < kernel; ky++ {
						for _, v := range src[base+ky*g.W : base+ky*g.W+kernel] {
							s += v
						}
					}
					y[pl*p+oy*g.Wo+ox] = s * inv
				}
			}
		}
	})
	if out.requiresGrad {
		out.backward = func() {
			gy, gx := out.Grad.Data, x.GradBuf()
			parallel.For(n*c, 8, func(lo, hi int) {
				for pl := lo; pl < hi; pl++ {
					dst := gx[pl*hw : (pl+1)*hw]
					for oy := 0; oy < g.Ho; oy++ {
						for ox := 0; ox < g.Wo; ox++ {
							v := gy[pl*p+oy*g.Wo+ox] * inv
							base := oy*stride*g.W + ox*stride
							for ky := 0; ky < kernel; ky++ {
								addConst(dst[base+ky*g.W:base+ky*g.W+kernel], v)
							}
						}
					}
				}
			})
		}
	}
	return out
}

// GlobalAvgPool averages each channel plane: x [N,C,H,W] → [N,C],
//
//	out[n,c] = (1/(H·W)) Σ_{h,w} x[n,c,h,w],   dx[n,c,h,w] += dS/dout[n,c] / (H·W).
func GlobalAvgPool(x *Var) *Var {
	xs := x.Shape()
	if len(xs) != 4 || xs[2]*xs[3] == 0 {
		panic(fmt.Sprintf("autodiff.GlobalAvgPool: x must be [N,C,H,W] with H,W ≥ 1, got %v", xs))
	}
	nc, hw := xs[0]*xs[1], xs[2]*xs[3]
	out := Node("GlobalAvgPool", false, []int{xs[0], xs[1]}, x)
	inv := 1 / float32(hw)
	xv, y := x.Data(), out.Data()
	parallel.For(nc, max(1, 4096/hw), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			y[i] = vec.Sum(xv[i*hw:(i+1)*hw]) * inv
		}
	})
	if out.requiresGrad {
		out.backward = func() {
			gy := out.Grad.Data
			gx, fresh := x.GradFresh()
			parallel.For(nc, max(1, 4096/hw), func(lo, hi int) {
				for i := lo; i < hi; i++ {
					if fresh {
						fill(gx[i*hw:(i+1)*hw], gy[i]*inv)
					} else {
						addConst(gx[i*hw:(i+1)*hw], gy[i]*inv)
					}
				}
			})
		}
	}
	return out
}

// fill sets every element of d to v.
func fill(d []float32, v float32) {
	for i := range d {
		d[i] = v
	}
}
