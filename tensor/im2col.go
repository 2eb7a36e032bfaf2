package tensor

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

// maxPanel is the widest panel whose per-column tables Im2colTPanel keeps on the stack; wider
// ones allocate.
const maxPanel = 64

// Im2colPanel packs part of the column matrix of a batch of images straight from the images, for
// an implicit-im2col GEMM (blas.GemmPackB with op(B) = col): with src holding nb images one after
// the other (each C×H×W, row-major) and col the [Rows, nb·Ho·Wo] matrix whose column
// j = b·Ho·Wo + oy·Wo + ox is output position (oy, ox) of image b and whose row
// r = c·KH·KW + ky·KW + kx is tap (ky, kx) of channel c, it writes
//
//	dst[p·nr + jj] = col[r0+p][j0+jj] = src[b, c, oy·Stride − Pad + ky, ox·Stride − Pad + kx]
//
// for p < rows and jj < cols (0 in the padding), and 0 for cols ≤ jj < nr: rows rows of nr
// values, the micro-kernels' packed B panel. The source offset of every (tap, column) pair
// within a channel plane is tabulated once per call, −1 where the tap falls in the padding;
// each row of the panel is then one gather through its tap's table. (AVX-512 hardware gathers
// were measured no faster than this loop on the reference machine, an AMD EPYC.)
func Im2colPanel(g ConvGeom, src, dst []float32, nr, r0, j0, rows, cols int) {
	if len(src) > 1<<31-1 {
		panic(fmt.Sprintf("tensor.Im2colPanel: %d source values, more than int32 offsets reach", len(src)))
	}
	dst = dst[:rows*nr]
	if cols < nr {
		clear(dst)
	}
	hw, p, taps := g.H*g.W, g.Cols(), g.KH*g.KW
	inSz := g.C * hw
	var tb [maxTable]int32
	idx := table(tb[:], taps*cols)
	b, q := j0/p, j0%p
	oy, ox := q/g.Wo, q%g.Wo
	for jj := 0; jj < cols; jj++ {
		iy0, ix0 := oy*g.Stride-g.Pad, ox*g.Stride-g.Pad
		base := b*inSz + iy0*g.W + ix0
		t := jj
		for ky := 0; ky < g.KH; ky++ {
			yIn := uint(iy0+ky) < uint(g.H)
			for kx := 0; kx < g.KW; kx, t = kx+1, t+cols {
				if yIn && uint(ix0+kx) < uint(g.W) {
					idx[t] = int32(base + ky*g.W + kx)
				} else {
					idx[t] = -1
				}
			}
		}
		if ox++; ox == g.Wo {
			ox = 0
			if oy++; oy == g.Ho {
				oy = 0
				b++
			}
		}
	}
	c, t := r0/taps, r0%taps
	for r := 0; r < rows; c, t = c+1, 0 {
		s := src[c*hw:]
		for ; t < taps && r < rows; t, r = t+1, r+1 {
			gather(dst[r*nr:r*nr+cols], s, idx[t*cols:(t+1)*cols])
		}
	}
}

// gather sets dst[i] = src[idx[i]], or 0 where idx[i] is outside src (−1 marks the padding).
func gather(dst, src []float32, idx []int32) {
	idx = idx[:len(dst)]
	for i, j := range idx {
		if uint(j) < uint(len(src)) {
			dst[i] = src[j]
		} else {
			dst[i] = 0
		}
	}
}

// maxTable is the size of the table Im2colPanel keeps on the stack (a 3×3 kernel and 48-column
// panels); larger ones allocate.
const maxTable = 9 * 48

// table returns n elements of buf, or a new slice when buf is too short.
func table[T any](buf []T, n int) []T {
	if n <= len(buf) {
		return buf[:n]
	}
	return make([]T, n)
}

// Im2colTPanel is Im2colPanel for the transposed column matrix (blas.GemmPackB with
// op(B) = colᵀ, as in the weight gradient G·colᵀ): row p0+p of colᵀ is output position
// (b, oy, ox) and column j0+jj is row (c, ky, kx) of col, so that
//
//	dst[p·nr + jj] = col[j0+jj][p0+p] = src[b, c, oy·Stride − Pad + ky, ox·Stride − Pad + kx]
//
// for p < rows and jj < cols (0 in the padding), and 0 for cols ≤ jj < nr. The columns' offsets
// within a window are tabulated once; each output position whose window lies inside the image
// is then one gather through the table, and the others check every tap.
func Im2colTPanel(g ConvGeom, src, dst []float32, nr, p0, j0, rows, cols int) {
	dst = dst[:rows*nr]
	hw, p, taps := g.H*g.W, g.Cols(), g.KH*g.KW
	inSz := g.C * hw
	var b0, b1, b2 [maxPanel]int32
	off, tky, tkx := table(b0[:], cols), table(b1[:], cols), table(b2[:], cols)
	for jj := range off {
		r := j0 + jj
		c, t := r/taps, r%taps
		tky[jj], tkx[jj] = int32(t/g.KW), int32(t%g.KW)
		off[jj] = int32(c*hw) + tky[jj]*int32(g.W) + tkx[jj]
	}
	b, q := p0/p, p0%p
	oy, ox := q/g.Wo, q%g.Wo
	for r := 0; r < rows; r++ {
		row := dst[r*nr : (r+1)*nr]
		d := row[:cols]
		iy, ix := oy*g.Stride-g.Pad, ox*g.Stride-g.Pad
		base := b*inSz + iy*g.W + ix
		if iy >= 0 && ix >= 0 && iy+g.KH <= g.H && ix+g.KW <= g.W {
			gather(d, src[base:], off)
		} else {
			for jj, o := range off[:len(d)] {
				if uint(iy+int(tky[jj])) < uint(g.H) && uint(ix+int(tkx[jj])) < uint(g.W) {
					d[jj] = src[base+int(o)]
				} else {
					d[jj] = 0
				}
			}
		}
		clear(row[cols:])
		if ox++; ox == g.Wo {
			ox = 0
			if oy++; oy == g.Ho {
				oy = 0
				b++
			}
		}
	}
}
