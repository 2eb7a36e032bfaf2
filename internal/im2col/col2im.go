package im2col

// Col2im is the adjoint of Im2col: it accumulates the column matrix src (row stride ld) back into
// the image gradient dst (C×H×W):
//
//	dst[c, oy·Stride − Pad + ky, ox·Stride − Pad + kx] += src[(c·KH·KW + ky·KW + kx)·ld + oy·Wo + ox]
//
// skipping positions in the padding.
//
// The common 3×3 windows with padding 1 and stride 1 or 2 take an output-centric path: each row
// of dst is read and written once, with the contributions of all the (ky, oy, kx) source rows that
// reach it summed first; other windows scatter one source row at a time.
func Col2im(g ConvGeom, src []float32, ld int, dst []float32) {
	switch col2imPath(g) {
	case 1:
		col2im3x3s1(g, src, ld, dst)
	case 2:
		col2im3x3s2(g, src, ld, dst, false)
	default:
		col2imGeneric(g, src, ld, dst)
	}
}

// Col2imSet is Col2im into a dst whose previous contents do not count: it writes every value of
// dst (C×H×W), the same bits as clearing dst and then calling Col2im, without reading dst where
// the stride-2 assembly runs (a fresh gradient: no clearing pass and no reading back).
func Col2imSet(g ConvGeom, src []float32, ld int, dst []float32) {
	if col2imPath(g) == 2 {
		col2im3x3s2(g, src, ld, dst, true)
		return
	}
	clear(dst[:g.C*g.H*g.W])
	Col2im(g, src, ld, dst)
}

// zeros is a row of zeros for col2imS2PlaneAsm's set mode (read only).
var zeros [1024]float32

// zeroRow returns w zeros: the shared row, or a new one for wider images.
func zeroRow(w int) []float32 {
	if w <= len(zeros) {
		return zeros[:w]
	}
	return make([]float32, w)
}

// col2imPath returns the stride of the 3×3, padding-1 windows that Col2im has a fast path for
// (1 or 2), and 0 for every other geometry.
func col2imPath(g ConvGeom) int {
	if g.KH != 3 || g.KW != 3 || g.Pad != 1 || g.H < 1 || g.W < 1 {
		return 0
	}
	switch {
	case g.Stride == 1 && g.Ho == g.H && g.Wo == g.W:
		return 1
	case g.Stride == 2 && g.Ho == (g.H+1)/2 && g.Wo == (g.W+1)/2:
		return 2
	}
	return 0
}

// col2imGeneric is Col2im for any geometry: for each source row (c, ky, kx) and output row oy it
// adds the row's in-image part into dst row oy·Stride − Pad + ky.
func col2imGeneric(g ConvGeom, src []float32, ld int, dst []float32) {
	hw, p := g.H*g.W, g.Cols()
	s := g.Stride
	row := 0
	for c := 0; c < g.C; c++ {
		plane := dst[c*hw : (c+1)*hw]
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				sc := src[row*ld : row*ld+p]
				row++
				lo, hi := g.xRange(kx)
				if lo >= hi {
					continue
				}
				off := kx - g.Pad
				for oy := 0; oy < g.Ho; oy++ {
					iy := oy*s - g.Pad + ky
					if iy < 0 || iy >= g.H {
						continue
					}
					sr := sc[oy*g.Wo+lo : oy*g.Wo+hi]
					dr := plane[iy*g.W : (iy+1)*g.W]
					ix := lo*s + off
					if s == 1 {
						dd := dr[ix : ix+len(sr)]
						for i, v := range sr {
							dd[i] += v
						}
						continue
					}
					if s == 2 {
						_ = dr[ix+2*(len(sr)-1)]
						for i, v := range sr {
							dr[ix+2*i] += v
						}
						continue
					}
					for _, v := range sr {
						dr[ix] += v
						ix += s
					}
				}
			}
		}
	}
}

// col2imRows returns the nine source rows of channel c, each n = Ho·Wo long, indexed ky·3 + kx.
func col2imRows(src []float32, ld, c, n int) (r [9][]float32) {
	for k := range r {
		o := (c*9 + k) * ld
		r[k] = src[o : o+n]
	}
	return r
}

// col2im3x3s1 is Col2im for a 3×3 window, padding 1, stride 1 (Ho = H, Wo = W). Row iy of dst
// receives output row oy = iy + 1 − ky of tap row ky, for each ky with 0 ≤ oy < H: all three in
// the interior, two on the first and last rows. With AVX2 and W ≥ col2imS1AsmMin each channel's
// plane goes to col2imS1PlaneAsm instead, which sums in the same order (the same bits) eight
// columns at a time (four when W < 10); the loops here are what other CPUs and narrower images run.
func col2im3x3s1(g ConvGeom, src []float32, ld int, dst []float32) {
	h, w := g.H, g.W
	hw := h * w
	if haveCol2imAsm && w >= col2imS1AsmMin {
		for c := 0; c < g.C; c++ {
			plane := dst[c*hw : (c+1)*hw]
			s := src[c*9*ld : c*9*ld+8*ld+hw]
			col2imS1PlaneAsm(&plane[0], &s[0], ld, h, w)
		}
		return
	}
	for c := 0; c < g.C; c++ {
		plane := dst[c*hw : (c+1)*hw]
		r := col2imRows(src, ld, c, hw)
		for iy := 0; iy < h; iy++ {
			d := plane[iy*w : (iy+1)*w]
			if iy > 0 && iy < h-1 {
				o0, o1, o2 := (iy+1)*w, iy*w, (iy-1)*w
				col2imRowS1x3(d,
					r[0][o0:o0+w], r[1][o0:o0+w], r[2][o0:o0+w],
					r[3][o1:o1+w], r[4][o1:o1+w], r[5][o1:o1+w],
					r[6][o2:o2+w], r[7][o2:o2+w], r[8][o2:o2+w])
				continue
			}
			for ky := 0; ky < 3; ky++ {
				oy := iy + 1 - ky
				if oy < 0 || oy >= h {
					continue
				}
				o := oy * w
				col2imRowS1(d, r[3*ky][o:o+w], r[3*ky+1][o:o+w], r[3*ky+2][o:o+w])
			}
		}
	}
}

// col2imRowS1 adds one output row of the taps kx = 0, 1, 2 (a, b, c, each len(d) long) into the
// image row d at stride 1: d[ix] += a[ix+1] + b[ix] + c[ix−1], leaving out the padding.
func col2imRowS1(d, a, b, c []float32) {
	n := len(d)
	a, b, c = a[:n], b[:n], c[:n]
	if n == 1 {
		d[0] += b[0]
		return
	}
	d[0] += a[1] + b[0]
	d[n-1] += b[n-1] + c[n-2]
	dm := d[1 : n-1]
	am, bm, cm := a[2:n], b[1:n-1], c[:n-2]
	am, bm, cm = am[:len(dm)], bm[:len(dm)], cm[:len(dm)]
	for i := range dm {
		dm[i] += am[i] + bm[i] + cm[i]
	}
}

// col2imRowS1x3 is col2imRowS1 for the three tap rows ky = 0, 1, 2 at once: (a0, b0, c0) for
// ky = 0, (a1, b1, c1) for ky = 1, (a2, b2, c2) for ky = 2.
func col2imRowS1x3(d, a0, b0, c0, a1, b1, c1, a2, b2, c2 []float32) {
	n := len(d)
	a0, b0, c0 = a0[:n], b0[:n], c0[:n]
	a1, b1, c1 = a1[:n], b1[:n], c1[:n]
	a2, b2, c2 = a2[:n], b2[:n], c2[:n]
	if n == 1 {
		d[0] += b0[0] + b1[0] + b2[0]
		return
	}
	d[0] += (a0[1] + b0[0]) + (a1[1] + b1[0]) + (a2[1] + b2[0])
	d[n-1] += (b0[n-1] + c0[n-2]) + (b1[n-1] + c1[n-2]) + (b2[n-1] + c2[n-2])
	dm := d[1 : n-1]
	m := len(dm)
	a0, b0, c0 = a0[2:n][:m], b0[1 : n-1][:m], c0[:m]
	a1, b1, c1 = a1[2:n][:m], b1[1 : n-1][:m], c1[:m]
	a2, b2, c2 = a2[2:n][:m], b2[1 : n-1][:m], c2[:m]
	for i := range dm {
		dm[i] += ((a0[i] + b0[i]) + (c0[i] + a1[i])) + ((b1[i] + c1[i]) + (a2[i] + b2[i])) + c2[i]
	}
}

// col2im3x3s2 is Col2im for a 3×3 window, padding 1, stride 2 (Ho = ⌈H/2⌉, Wo = ⌈W/2⌉). An even
// row iy of dst receives output row iy/2 of tap row ky = 1; an odd one receives output row
// (iy−1)/2 of tap row 2 and, unless it is the last row of an even H, output row (iy+1)/2 of tap
// row 0. Along a row, with a, b, c the taps kx = 0, 1, 2 of one tap row,
// dst[2·ox] += b[ox] and dst[2·ox+1] += c[ox] + a[ox+1]: the first m = ⌊(W−1)/2⌋ column pairs
// take all three, then column 2m takes b[m] and, for an even W, column 2m+1 takes c[m] alone.
// The row loops are written out here rather than in helpers: with the narrow rows of stride-2
// layers (Wo = 7 at 14×14) the calls cost about 15%. With AVX2 and m ≥ 4 each channel's plane goes
// to col2imS2PlaneAsm instead, which sums in the same order (the same bits) four or eight column
// pairs at a time; the loops here are what other CPUs and narrower images run.
//
// With set, dst's contents do not count: the assembly then adds each row's sums to zeros
// instead of reading dst back (0 + the sums: the bits of clearing dst first, which the loops
// here do).
func col2im3x3s2(g ConvGeom, src []float32, ld int, dst []float32, set bool) {
	h, w, ho, wo := g.H, g.W, g.Ho, g.Wo
	hw := h * w
	m := (w - 1) / 2
	if haveCol2imAsm && m >= col2imAsmMin {
		var zero *float32
		if set {
			z := zeroRow(w)
			zero = &z[0]
		}
		for c := 0; c < g.C; c++ {
			plane := dst[c*hw : (c+1)*hw]
			s := src[c*9*ld : c*9*ld+8*ld+ho*wo]
			col2imS2PlaneAsm(&plane[0], &s[0], ld, h, w, wo, m, zero)
		}
		return
	}
	if set {
		clear(dst[:g.C*hw])
	}
	for c := 0; c < g.C; c++ {
		plane := dst[c*hw : (c+1)*hw]
		r := col2imRows(src, ld, c, ho*wo)
		for iy := 0; iy < h; iy++ {
			d := plane[iy*w : (iy+1)*w]
			// (a, b, c2): tap row 1 at output row iy/2 for an even iy, tap row 2 at (iy−1)/2
			// for an odd one.
			k, oy := 3, iy/2
			if iy&1 == 1 {
				k, oy = 6, (iy-1)/2
			}
			o := oy * wo
			a, b, c2 := r[k][o:o+wo], r[k+1][o:o+wo], r[k+2][o:o+wo]
			bm, cm, am := b[:m], c2[:m], a[1:m+1]
			if iy&1 == 1 && oy+1 < ho {
				// Odd row, tap row 0 at output row oy+1 as well.
				o0 := o + wo
				a0, b0, c0 := r[0][o0:o0+wo], r[1][o0:o0+wo], r[2][o0:o0+wo]
				b0m, c0m, a0m := b0[:m], c0[:m], a0[1:m+1]
				for j, v := range bm {
					i := 2 * j
					if i+1 >= len(d) { // never (2m+1 ≤ W); lets the compiler drop d's bounds checks
						break
					}
					d[i] += v + b0m[j]
					d[i+1] += (cm[j] + am[j]) + (c0m[j] + a0m[j])
				}
				d[2*m] += b[m] + b0[m]
				if 2*m+1 < w {
					d[2*m+1] += c2[m] + c0[m]
				}
				continue
			}
			for j, v := range bm {
				i := 2 * j
				if i+1 >= len(d) {
					break
				}
				d[i] += v
				d[i+1] += cm[j] + am[j]
			}
			d[2*m] += b[m]
			if 2*m+1 < w {
				d[2*m+1] += c2[m]
			}
		}
	}
}

// col2imS1AsmMin is the narrowest image for which col2im3x3s1 hands the planes to the assembly,
// which takes the W−2 interior columns of a row four at a time at least.
const col2imS1AsmMin = 6

// col2imAsmMin is the fewest column pairs m = ⌊(W−1)/2⌋ for which col2im3x3s2 hands the planes
// to the assembly, which takes them four at a time at least.
const col2imAsmMin = 4
