package im2col

import (
	"fmt"
	"unsafe"
)

// Implicit im2col: a convolution's GEMM (gemm.GemmPackB) asks for its right-hand operand one
// packed panel at a time, and the functions here write those panels straight from the images,
// never building the column matrix. They read a zero-padded copy of the images (PadImages), so
// that every tap of every window is an ordinary load: no bounds tests in the inner loops, and
// for the column matrix itself each panel row is a few strided runs, one per output row it
// crosses.

// padLayout is the layout of PadImages' copy: padded rows of wp values, channel planes of plane
// values, images of image values.
type padLayout struct{ wp, plane, image int }

func (g ConvGeom) padLayout() padLayout {
	wp := g.W + 2*g.Pad
	plane := (g.H + 2*g.Pad) * wp
	return padLayout{wp: wp, plane: plane, image: g.C * plane}
}

// tap is the offset, from a window's origin in the padded copy, of the value that column-matrix
// row r (channel r/(KH·KW), tap (ky, kx)) reads.
func (pl padLayout) tap(g ConvGeom, r int) int {
	taps := g.KH * g.KW
	t := r % taps
	return r/taps*pl.plane + t/g.KW*pl.wp + t%g.KW
}

// PaddedLen is the length of the padded copy of nb images that PadImages writes:
// nb·C·(H + 2·Pad)·(W + 2·Pad).
func (g ConvGeom) PaddedLen(nb int) int { return nb * g.padLayout().image }

// PadImages copies nb images src (each C×H×W, row-major, one after the other) into dst with a
// border of Pad zeros on every side of every channel plane: dst is nb·C planes of
// (H + 2·Pad)×(W + 2·Pad), len(dst) ≥ g.PaddedLen(nb).
func PadImages(g ConvGeom, src []float32, nb int, dst []float32) {
	lay := g.padLayout()
	hw, wp, pp := g.H*g.W, lay.wp, lay.plane
	if planes := nb * g.C; havePadAsm && planes > 0 && wp <= 16*maxPadChunks {
		_, _ = src[planes*hw-1], dst[planes*pp-1]
		var m padMasks
		m.chunks = int64((wp + 15) / 16)
		for c := range int(m.chunks) {
			for l := range 16 {
				if i := 16*c + l; i < wp {
					m.store[c] |= 1 << l
					if i >= g.Pad && i < g.Pad+g.W {
						m.load[c] |= 1 << l
					}
				}
			}
		}
		padPlanesAsm(&src[0], &dst[0], planes, g.H, g.W, g.Pad, wp, &m)
		return
	}
	padImagesGo(g, src, nb, dst)
}

// padImagesGo is PadImages in Go: row by row, a copy between the zeros.
func padImagesGo(g ConvGeom, src []float32, nb int, dst []float32) {
	lay := g.padLayout()
	hw, wp, pp := g.H*g.W, lay.wp, lay.plane
	for pl := 0; pl < nb*g.C; pl++ {
		s := src[pl*hw : (pl+1)*hw]
		d := dst[pl*pp : (pl+1)*pp]
		clear(d[:g.Pad*wp])
		for y := 0; y < g.H; y++ {
			row := d[(y+g.Pad)*wp : (y+g.Pad+1)*wp]
			left, mid, right := row[:g.Pad], row[g.Pad:g.Pad+g.W], row[g.Pad+g.W:]
			for i := range left {
				left[i] = 0
			}
			copy(mid, s[y*g.W:(y+1)*g.W])
			for i := range right {
				right[i] = 0
			}
		}
		clear(d[(g.H+g.Pad)*wp:])
	}
}

// run is a stretch of a panel's columns that lie on one output row of one image: columns
// jj … jj+n−1, the first of which reads the padded images at base (plus its tap's offset).
type run struct{ jj, n, base int }

// minRun is the output width from which Im2colPanel copies runs; narrower images, whose runs
// are too short to amortise their setup (the reference conv3: 7), go through a table. With the
// row assembly (AVX2) stride-2 runs are always copied, and stride-1 runs from minRunAsm1 on: a
// run of up to 8 values is then one 8-wide move, faster than the table from width 2 (0.42 against
// 0.85–1.24 ns a value at width 4, 0.31–0.41 against 0.84–1.13 at width 7), slower only at
// width 1 (2.0 against 1.6), where every column is a run of its own.
const minRun, minRunAsm1 = 12, 2

// maxRuns is how many runs Im2colPanel keeps on the stack; panels crossing more output rows
// allocate.
const maxRuns = 64

// Im2colPanel packs part of the column matrix of a batch of images, for an implicit-im2col GEMM
// (gemm.GemmPackB with op(B) = col). xp is PadImages' copy of nb images; col is the
// [Rows, nb·Ho·Wo] matrix whose column j = b·Ho·Wo + oy·Wo + ox is output position (oy, ox) of
// image b and whose row r = c·KH·KW + ky·KW + kx is tap (ky, kx) of channel c. It writes
//
//	dst[p·nr + jj] = col[r0+p][j0+jj] = x[b, c, oy·Stride − Pad + ky, ox·Stride − Pad + kx]
//
// (0 in the padding) for p < rows and jj < cols, and 0 for cols ≤ jj < nr: rows rows of nr
// values, the micro-kernels' packed B panel.
func Im2colPanel(g ConvGeom, xp, dst []float32, nr, r0, j0, rows, cols int) {
	dst = dst[:rows*nr]
	lay := g.padLayout()
	wp, inSz := lay.wp, lay.image
	p, s := g.Cols(), g.Stride
	var rb [maxRuns]run
	runs := rb[:0]
	b, q := j0/p, j0%p
	oy, ox := q/g.Wo, q%g.Wo
	for jj := 0; jj < cols; {
		n := min(g.Wo-ox, cols-jj)
		runs = append(runs, run{jj, n, b*inSz + oy*s*wp + ox*s})
		jj += n
		if ox += n; ox == g.Wo {
			ox = 0
			if oy++; oy == g.Ho {
				oy = 0
				b++
			}
		}
	}
	if need := ((j0+cols-1)/p + 1) * inSz; need > len(xp) {
		panic(fmt.Sprintf("im2col.Im2colPanel: padded images hold %d values, column %d needs %d", len(xp), j0+cols-1, need))
	}
	asm := false
	if (s == 1 || s == 2) && haveRowAsm {
		// Every run's reads, for the panel's last tap, must lie in xp: s·n values, and at
		// least a group's worth (8·s) for runs shorter than a group.
		maxOff := lay.tap(g, r0+rows-1)
		asm = true
		for _, ru := range runs {
			if ru.base+maxOff+s*max(ru.n, 8) > len(xp) {
				asm = false
			}
		}
	}
	if g.Wo < minRun && !(asm && (s == 2 || g.Wo >= minRunAsm1)) {
		// Short output rows: one gather through a table of the columns' window origins.
		var tb [maxPanel]int32
		base := tb[:0]
		if cols > maxPanel {
			base = make([]int32, 0, cols)
		}
		for _, ru := range runs {
			for i := 0; i < ru.n; i++ {
				base = append(base, int32(ru.base+s*i))
			}
		}
		for r := 0; r < rows; r++ {
			row := dst[r*nr : (r+1)*nr]
			src := xp[lay.tap(g, r0+r):]
			d := row[:len(base)]
			for jj, o := range base {
				d[jj] = src[o]
			}
			clear(row[cols:])
		}
		return
	}
	for r := 0; r < rows; r++ {
		off := lay.tap(g, r0+r)
		row := dst[r*nr : (r+1)*nr]
		if asm {
			if s == 1 {
				copyRowAsm(&row[0], &xp[0], &runs[0], len(runs), off, len(dst)-r*nr)
			} else {
				stride2RowAsm(&row[0], &xp[0], &runs[0], len(runs), off, len(dst)-r*nr)
			}
			clear(row[cols:])
			continue
		}
		for _, ru := range runs {
			d := row[ru.jj : ru.jj+ru.n]
			src := xp[ru.base+off:]
			switch s {
			case 1:
				copy(d, src[:len(d)])
			case 2:
				src = src[:2*len(d)-1]
				for i := range d {
					d[i] = src[2*i]
				}
			default:
				for i := range d {
					d[i] = src[s*i]
				}
			}
		}
		clear(row[cols:])
	}
}

// maxPanel is the widest panel whose offset table Im2colTPanel keeps on the stack; wider ones
// allocate.
const maxPanel = 64

// Im2colTPanel is Im2colPanel for the transposed column matrix (gemm.GemmPackB with
// op(B) = colᵀ, as in the weight gradient G·colᵀ): row p0+p of colᵀ is output position
// (b, oy, ox) and column j0+jj is row (c, ky, kx) of col, so that
//
//	dst[p·nr + jj] = col[j0+jj][p0+p] = x[b, c, oy·Stride − Pad + ky, ox·Stride − Pad + kx]
//
// (0 in the padding) for p < rows and jj < cols, and 0 for cols ≤ jj < nr. xp is PadImages'
// copy of the images. The columns' offsets within a window of the padded images are tabulated
// once; each panel row is then one gather through the table.
func Im2colTPanel(g ConvGeom, xp, dst []float32, nr, p0, j0, rows, cols int) {
	dst = dst[:rows*nr]
	lay := g.padLayout()
	wp, inSz := lay.wp, lay.image
	p, s := g.Cols(), g.Stride
	var tb [maxPanel]int32
	off := tb[:0]
	if cols > maxPanel {
		off = make([]int32, 0, cols)
	}
	for jj := 0; jj < cols; jj++ {
		off = append(off, int32(lay.tap(g, j0+jj)))
	}
	if need := (p0+rows-1)/p*inSz + inSz; need > len(xp) {
		panic(fmt.Sprintf("im2col.Im2colTPanel: padded images hold %d values, row %d needs %d", len(xp), p0+rows-1, need))
	}
	b, q := p0/p, p0%p
	oy, ox := q/g.Wo, q%g.Wo
	if g.KW == 3 && j0%3 == 0 && cols%3 == 0 && cols >= 6 {
		// The row's values come in runs of three (kx = 0, 1, 2 of one channel and ky), three
		// consecutive values of the padded image: copy each run as four values, one 16-byte
		// load and store, the fourth landing where the next run goes. The last run of a row is
		// copied value by value, so nothing beyond the row's cols values is written, and the
		// bound of every 16-byte load is checked once, with the panel's last row.
		last := q + rows - 1 // output position of the last row, within image b + last/p
		lb, lq := b+last/p, last%p
		maxOff := int32(0)
		for _, o := range off {
			maxOff = max(maxOff, o)
		}
		if lb*inSz+(lq/g.Wo)*s*wp+(lq%g.Wo)*s+int(maxOff)+4 <= len(xp) {
			im2colTPanelTriples(xp, dst, nr, off, b*inSz, oy, ox, rows, cols, g.Wo, g.Ho, s*wp, s, inSz)
			return
		}
	}
	if haveExpand && nr%16 == 0 && nr <= 16*maxExpandChunks {
		if chunks, ok := expandChunks(off, nr); ok {
			// Runs of contiguous taps (the 7 kx of a channel and ky for the ImageNet stem)
			// expanded into 16-lane chunks, output row by output row: the same values as the
			// loop below, ~8x faster for the stem's 7×7 taps.
			for r := 0; r < rows; {
				cnt := min(rows-r, g.Wo-ox)
				base := b*inSz + oy*s*wp + ox*s
				for k := range nr / 16 {
					expandRows16(&dst[r*nr+16*k], nr, &xp[base], s, cnt, &chunks[k])
				}
				r += cnt
				if ox += cnt; ox == g.Wo {
					ox = 0
					if oy++; oy == g.Ho {
						oy = 0
						b++
					}
				}
			}
			return
		}
	}
	for r := 0; r < rows; r++ {
		row := dst[r*nr : (r+1)*nr]
		src := xp[b*inSz+oy*s*wp+ox*s:]
		d := row[:len(off)]
		for jj, o := range off {
			d[jj] = src[o]
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

// quad is four float32s: a 16-byte move.
type quad [4]float32

// im2colTPanelTriples is Im2colTPanel's loop for 3-wide kernels (see there): rows of cols values
// (a multiple of 3, at least 6) gathered as runs of three through off, the first row's window
// at image offset base, output position (oy, ox). The caller has checked that every 16-byte load
// lies inside xp; stores stay inside each row's first cols values.
func im2colTPanelTriples(xp, dst []float32, nr int, off []int32, base, oy, ox, rows, cols, wo, ho, rowStep, s, inSz int) {
	runs := cols / 3
	var tb [maxPanel / 3]int32
	starts := tb[:0]
	for i := 0; i < runs; i++ {
		starts = append(starts, off[3*i])
	}
	lastRun := starts[runs-1]
	full := starts[:runs-1]
	for r := 0; r < rows; r++ {
		row := dst[r*nr : (r+1)*nr]
		org := base + oy*rowStep + ox*s
		sp := unsafe.Pointer(&xp[org])
		dp := unsafe.Pointer(&row[0])
		for i, o := range full {
			*(*quad)(unsafe.Add(dp, 12*i)) = *(*quad)(unsafe.Add(sp, 4*int(o)))
		}
		t := row[3*(runs-1) : 3*runs]
		sr := xp[org+int(lastRun) : org+int(lastRun)+3]
		t[0], t[1], t[2] = sr[0], sr[1], sr[2]
		clear(row[cols:])
		if ox++; ox == wo {
			ox = 0
			if oy++; oy == ho {
				oy = 0
				base += inSz
			}
		}
	}
}

// maxExpandChunks is the widest panel (in 16-lane chunks) Im2colTPanel expands.
const maxExpandChunks = 3

// expandChunks splits a transposed panel row's taps (offsets off, len(off) ≤ nr columns) into
// nr/16 chunks of at most four runs of consecutive offsets each (chunks past the taps: no runs,
// zeros), or reports false when some chunk needs more.
func expandChunks(off []int32, nr int) (chunks [maxExpandChunks]expandRuns, ok bool) {
	for k := 0; k < nr/16; k++ {
		n := 0
		for l := 16 * k; l < min(16*k+16, len(off)); l++ {
			if l == 16*k || off[l] != off[l-1]+1 {
				if n == 4 {
					return chunks, false
				}
				chunks[k].off[n] = int64(off[l])
				n++
			}
			chunks[k].mask[n-1] |= 1 << (l - 16*k)
		}
	}
	return chunks, true
}
