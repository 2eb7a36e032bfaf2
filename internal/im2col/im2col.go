package im2col

import "fmt"

// ConvGeom describes a 2-D convolution or pooling window over one C×H×W image: kernel KH×KW,
// the same stride and zero padding in both directions, and the output size
//
//	Ho = (H + 2·Pad − KH)/Stride + 1,  Wo = (W + 2·Pad − KW)/Stride + 1  (floor division).
type ConvGeom struct {
	C, H, W     int
	KH, KW      int
	Stride, Pad int
	Ho, Wo      int
}

// NewConvGeom checks the arguments and computes the output size. It panics, naming op and the
// sizes, when stride < 1, pad < 0 or the kernel is larger than the padded input.
func NewConvGeom(op string, c, h, w, kh, kw, stride, pad int) ConvGeom {
	if stride < 1 || pad < 0 || kh < 1 || kw < 1 {
		panic(fmt.Sprintf("%s: invalid window: kernel %dx%d, stride %d, padding %d (input [%d,%d,%d])", op, kh, kw, stride, pad, c, h, w))
	}
	if kh > h+2*pad || kw > w+2*pad {
		panic(fmt.Sprintf("%s: kernel %dx%d is larger than the padded input %dx%d (input [%d,%d,%d], padding %d)", op, kh, kw, h+2*pad, w+2*pad, c, h, w, pad))
	}
	g := ConvGeom{C: c, H: h, W: w, KH: kh, KW: kw, Stride: stride, Pad: pad}
	g.Ho = (h+2*pad-kh)/stride + 1
	g.Wo = (w+2*pad-kw)/stride + 1
	return g
}

// Rows is C·KH·KW, the number of rows of the column matrix (the GEMM's inner dimension).
func (g ConvGeom) Rows() int { return g.C * g.KH * g.KW }

// Cols is Ho·Wo, the number of output positions of one image.
func (g ConvGeom) Cols() int { return g.Ho * g.Wo }

// xRange returns the output columns [lo, hi) whose input column ox·Stride − Pad + kx lies inside
// [0, W); the others read the zero padding.
func (g ConvGeom) xRange(kx int) (lo, hi int) {
	off := kx - g.Pad // ix = ox*s + off
	lo = 0
	if off < 0 {
		lo = (-off + g.Stride - 1) / g.Stride
	}
	// largest ox with ox*s + off <= W-1
	last := g.W - 1 - off
	if last < 0 {
		return 0, 0
	}
	hi = last/g.Stride + 1
	if hi > g.Wo {
		hi = g.Wo
	}
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

// Im2col writes the column matrix of one image src (C×H×W, row-major) into dst:
//
//	dst[(c·KH·KW + ky·KW + kx)·ld + oy·Wo + ox] = src[c, oy·Stride − Pad + ky, ox·Stride − Pad + kx]
//
// with 0 outside the image. ld ≥ Ho·Wo is dst's row stride, so that several images can sit side by
// side in one matrix (image b at dst[b·Ho·Wo:]). A convolution is then W[Cout, Rows]·dst.
func Im2col(g ConvGeom, src, dst []float32, ld int) {
	hw, p := g.H*g.W, g.Cols()
	s := g.Stride
	row := 0
	for c := 0; c < g.C; c++ {
		plane := src[c*hw : (c+1)*hw]
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				d := dst[row*ld : row*ld+p]
				row++
				lo, hi := g.xRange(kx)
				off := kx - g.Pad
				for oy := 0; oy < g.Ho; oy++ {
					dr := d[oy*g.Wo : (oy+1)*g.Wo]
					iy := oy*s - g.Pad + ky
					if iy < 0 || iy >= g.H || lo >= hi {
						clear(dr)
						continue
					}
					clear(dr[:lo])
					clear(dr[hi:])
					sr := plane[iy*g.W : (iy+1)*g.W]
					if s == 1 {
						copy(dr[lo:hi], sr[lo+off:hi+off])
						continue
					}
					dd := dr[lo:hi]
					ix := lo*s + off
					if s == 2 {
						_ = sr[ix+2*(len(dd)-1)]
						for i := range dd {
							dd[i] = sr[ix+2*i]
						}
						continue
					}
					for i := range dd {
						dd[i] = sr[ix]
						ix += s
					}
				}
			}
		}
	}
}
