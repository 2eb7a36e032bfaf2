package winograd

// Tile-row groups: the forward and input-gradient transforms of the AVX-512 path read and write
// whole rows of the images instead of gathering and scattering single values. A group is up to
// 16 consecutive tiles of a block (one vector lane each, in the block's columns col..col+n−1)
// that lie in at most two tile rows, or four ("segments"), each segment a run of consecutive
// tiles of one tile row of one image:
//
//   - one segment of up to 15 tiles: its 4×4 windows span 2n+2 ≤ 32 consecutive floats of each
//     of their four input rows, two 16-float loads a row;
//   - two segments of up to 7 tiles each (2n+2 ≤ 16 floats): one 16-float load a row each;
//   - images of at most 3 tiles a row: four segments of up to 3 tiles (2n+2 ≤ 8 floats), two
//     segments' loads merged into each 16-float table (quad groups, input16q and output16q).
//
// Tap (i, j) of lane l is element 2l+j of the row's 32 loaded floats (lanes of the second
// segment: 16+2(l−n₀)+j), picked by one two-table permute (VPERMI2PS); loads are masked to the
// floats inside the image, so the padding reads zero. The output transform interleaves each
// output row's two columns with two permutes and writes them with masked stores.

// rowGroup is one group's offsets, masks and permute indices, as rows_amd64.s reads them (the
// field offsets are checked by TestRowGroupLayout).
type rowGroup struct {
	pin    [4][lanes]int32 // tap column j: lane → index into the 32 loaded floats of a row
	pout   [2][lanes]int32 // output vector k: position → lane (+16: the tile's right column)
	in     [2]int64        // float offsets of the two loads of window row 0
	out    [2]int64        // float offsets of the two output vectors of output row 0
	inMsk  [8]uint16       // load k of window row i: inMsk[2i+k]
	outMsk [4]uint16       // output vector k of output row a: outMsk[2a+k]
	lanes  uint16          // the group's lanes: n low bits
	n      int             // tiles (lanes) in the group
	// A quad group (quad true: input16q, output16q) has up to four segments of up to 3 tiles,
	// segment s in the table half s%2 of register s/2 (pin: 8s + 2(l − l₀) + j), each with its
	// own loads and stores: float offsets in4 and out4 (less 8 for the high halves), masks
	// inMsk4[4i+s] and outMsk4[4a+s].
	in4     [4]int64
	out4    [4]int64
	inMsk4  [16]uint16
	outMsk4 [8]uint16
	quad    bool
}

// maxSegment1, maxSegment2 and maxSegment4 are the longest segment of a one-, a two- and a
// four-segment (quad) group. Images of at most maxSegment4 tiles a row take quad groups.
const (
	maxSegment1 = 15
	maxSegment2 = 7
	maxSegment4 = 3
)

// rowGroups cuts the cnt tiles from first (counted from the start of image 0 of a chunk whose
// images are inSz and outSz floats apart) into groups, appended to dst.
func (g Geom) rowGroups(dst []rowGroup, first, cnt, inSz, outSz int) []rowGroup {
	tiles := g.Tiles()
	for col := 0; col < cnt; {
		t := first + col
		b, r := t/tiles, t%tiles
		ty, tx := r/g.TW, r%g.TW
		n0 := min(g.TW-tx, cnt-col)
		var rg rowGroup
		if g.TW <= maxSegment4 && quadGroups {
			rg.quad = true
			for s := 0; s < 4 && col+rg.n < cnt; s++ {
				ts := t + rg.n
				bs, rs := ts/tiles, ts%tiles
				ns := min(g.TW-rs%g.TW, cnt-col-rg.n)
				g.segment4(&rg, s, ns, rg.n, bs, rs/g.TW, rs%g.TW, inSz, outSz)
				rg.n += ns
			}
		} else if n0 > maxSegment2 {
			n0 = min(n0, maxSegment1)
			g.segment(&rg, 0, n0, 0, b, ty, tx, inSz, outSz, true)
			rg.n = n0
		} else {
			g.segment(&rg, 0, n0, 0, b, ty, tx, inSz, outSz, false)
			rg.n = n0
			if rest := cnt - col - n0; rest > 0 {
				t1 := t + n0 // the first tile of the next tile row
				b1, r1 := t1/tiles, t1%tiles
				n1 := min(g.TW, rest, maxSegment2, lanes-n0)
				g.segment(&rg, 1, n1, n0, b1, r1/g.TW, r1%g.TW, inSz, outSz, false)
				rg.n += n1
			}
		}
		rg.lanes = uint16(1<<rg.n - 1)
		dst = append(dst, rg)
		col += rg.n
	}
	return dst
}

// segment fills rg for the n tiles from (b, ty, tx) in lanes l0..l0+n−1, its k-th segment
// (whole: the one segment of its group, read with both loads and written with both vectors).
func (g Geom) segment(rg *rowGroup, k, n, l0, b, ty, tx, inSz, outSz int, whole bool) {
	y0, x0 := 2*ty-1, 2*tx-1
	span := 2*n + 2 // floats of each window row
	loads := []int{k}
	if whole {
		loads = []int{0, 1}
	}
	for li, ld := range loads {
		rg.in[ld] = int64(b*inSz + y0*g.W + x0 + 16*li)
		for i := 0; i < inTile; i++ {
			if y := y0 + i; y < 0 || y >= g.H {
				continue
			}
			var m uint16
			for p := 0; p < 16; p++ {
				if q := 16*li + p; q < span && x0+q >= 0 && x0+q < g.W {
					m |= 1 << p
				}
			}
			rg.inMsk[2*i+ld] = m
		}
	}
	for l := 0; l < n; l++ {
		for j := 0; j < inTile; j++ {
			rg.pin[j][l0+l] = int32(16*k + 2*l + j)
		}
	}
	// Output vectors: vector v holds tiles lo..lo+7 of the segment (whole: v = 0, 1; else v = k,
	// all its ≤ 7 tiles), position p = tile p/2's column p%2.
	outs := []int{k}
	if whole {
		outs = []int{0, 1}
	}
	for vi, v := range outs {
		lo := 8 * vi
		rg.out[v] = int64(b*outSz + 2*ty*g.W + 2*tx + 2*lo)
		for p := 0; p < lanes; p++ {
			rg.pout[v][p] = int32(l0 + lo + p/2 + 16*(p%2))
		}
		for a := 0; a < 2; a++ {
			if 2*ty+a >= g.H {
				continue
			}
			var m uint16
			for p := 0; p < lanes; p++ {
				if lo+p/2 < n && 2*tx+2*lo+p < g.W {
					m |= 1 << p
				}
			}
			rg.outMsk[2*a+v] = m
		}
	}
}

// quadGroups switches quad groups on (a variable so that TestQuadGroupsSameBits can compare).
var quadGroups = true

// segment4 fills quad segment s of rg: the n ≤ 3 tiles from (b, ty, tx) in lanes l0..l0+n−1.
func (g Geom) segment4(rg *rowGroup, s, n, l0, b, ty, tx, inSz, outSz int) {
	y0, x0 := 2*ty-1, 2*tx-1
	span, half := 2*n+2, 8*(s%2) // floats of each window row; the segment's first table lane
	rg.in4[s] = int64(b*inSz + y0*g.W + x0 - half)
	for i := 0; i < inTile; i++ {
		if y := y0 + i; y < 0 || y >= g.H {
			continue
		}
		var m uint16
		for q := 0; q < 8; q++ {
			if q < span && x0+q >= 0 && x0+q < g.W {
				m |= 1 << (half + q)
			}
		}
		rg.inMsk4[4*i+s] = m
	}
	for l := 0; l < n; l++ {
		for j := 0; j < inTile; j++ {
			rg.pin[j][l0+l] = int32(8*s + 2*l + j)
		}
	}
	// Output vector s/2, positions half..half+7: tile q/2's column q%2.
	v := s / 2
	rg.out4[s] = int64(b*outSz + 2*ty*g.W + 2*tx - half)
	for q := 0; q < 8; q++ {
		rg.pout[v][half+q] = int32(l0 + q/2 + 16*(q%2))
	}
	for a := 0; a < 2; a++ {
		if 2*ty+a >= g.H {
			continue
		}
		var m uint16
		for q := 0; q < 8; q++ {
			if q < 2*n && 2*tx+q < g.W {
				m |= 1 << (half + q)
			}
		}
		rg.outMsk4[4*a+s] = m
	}
}
