package nn

import (
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/parallel"
)

// MaxPool2d is torch.nn.MaxPool2d(kernel, stride, padding) in floor mode. Padding counts as −∞,
// as in PyTorch, so it never wins a window.
type MaxPool2d struct {
	stateless
	Kernel, Stride, Pad int
}

// Forward pools x [N,C,H,W].
func (m MaxPool2d) Forward(x *autodiff.Var) *autodiff.Var {
	return autodiff.MaxPool2dPadded(x, m.Kernel, m.Stride, m.Pad)
}

// AvgPool2d is torch.nn.AvgPool2d(kernel, stride) without padding, in floor mode.
type AvgPool2d struct {
	stateless
	Kernel, Stride int
}

// Forward pools x [N,C,H,W].
func (m AvgPool2d) Forward(x *autodiff.Var) *autodiff.Var {
	return autodiff.AvgPool2d(x, m.Kernel, m.Stride)
}

// GlobalAvgPool averages each channel: [N,C,H,W] → [N,C] (AdaptiveAvgPool2d(1) then Flatten).
type GlobalAvgPool struct{ stateless }

// Forward pools x.
func (GlobalAvgPool) Forward(x *autodiff.Var) *autodiff.Var { return autodiff.GlobalAvgPool(x) }

// AdaptiveAvgPool2d is torch.nn.AdaptiveAvgPool2d(Out): [N,C,H,W] → [N,C,Out,Out]. Output cell i
// along an axis of size H averages rows ⌊i·H/Out⌋ to ⌈(i+1)·H/Out⌉ − 1, so windows overlap when
// Out does not divide H (7 → 2: rows 0–3 and 3–6), exactly as PyTorch; for Out > H cells repeat
// rows (3 → 4: rows 0, 0–1, 1–2, 2), as PyTorch does too.
type AdaptiveAvgPool2d struct {
	stateless
	Out int
}

// Forward pools x.
func (m AdaptiveAvgPool2d) Forward(x *autodiff.Var) *autodiff.Var { return AdaptiveAvgPool(x, m.Out) }

// window returns the input range [lo, hi) of output cell i when pooling size n to out cells.
func window(i, n, out int) (lo, hi int) {
	return i * n / out, ((i+1)*n + out - 1) / out
}

// AdaptiveAvgPool pools each plane of x [N,C,H,W] to out×out cells (see AdaptiveAvgPool2d).
// Gradient: each input of a cell's window receives dS/dcell divided by the window's size.
func AdaptiveAvgPool(x *autodiff.Var, out int) *autodiff.Var {
	s := x.Shape()
	if len(s) != 4 || out < 1 {
		panic(fmt.Sprintf("nn.AdaptiveAvgPool: x must be [N,C,H,W] and out ≥ 1, got out=%d and %v", out, s))
	}
	planes, h, w := s[0]*s[1], s[2], s[3]
	y := autodiff.Node("AdaptiveAvgPool", false, []int{s[0], s[1], out, out}, x)
	xv, yv := x.Data(), y.Data()
	parallel.For(planes, 64, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			src, dst := xv[p*h*w:(p+1)*h*w], yv[p*out*out:(p+1)*out*out]
			for i := 0; i < out; i++ {
				r0, r1 := window(i, h, out)
				for j := 0; j < out; j++ {
					c0, c1 := window(j, w, out)
					var sum float32
					for r := r0; r < r1; r++ {
						for _, v := range src[r*w+c0 : r*w+c1] {
							sum += v
						}
					}
					dst[i*out+j] = sum / float32((r1-r0)*(c1-c0))
				}
			}
		}
	})
	if y.RequiresGrad() {
		y.SetBackward(func() {
			if !x.RequiresGrad() {
				return
			}
			gy, gx := y.Grad.Data, x.GradBuf()
			parallel.For(planes, 64, func(lo, hi int) {
				for p := lo; p < hi; p++ {
					src, dst := gy[p*out*out:(p+1)*out*out], gx[p*h*w:(p+1)*h*w]
					for i := 0; i < out; i++ {
						r0, r1 := window(i, h, out)
						for j := 0; j < out; j++ {
							c0, c1 := window(j, w, out)
							g := src[i*out+j] / float32((r1-r0)*(c1-c0))
							for r := r0; r < r1; r++ {
								row := dst[r*w+c0 : r*w+c1]
								for k := range row {
									row[k] += g
								}
							}
						}
					}
				}
			})
		})
	}
	return y
}
