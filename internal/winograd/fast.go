package winograd

import (
	"sync"

	"github.com/contrastive-go/contrastive/internal/gemm"
	"github.com/contrastive-go/contrastive/parallel"
)

// The AVX-512 path. Its transforms (transform_amd64.s, rows_amd64.s) read the tiles' values
// straight from the NCHW tensors with lane masks for the padding and partial tiles, and write
// the 16 products' operands in the layouts the 8×48 micro-kernel reads (gemm.MulPanels), so
// nothing is packed or padded in between:
//
//   - forward and input gradient: the filters as 8-row panels Ũ_ξ[o/8][c][o%8]; the input
//     transform V_ξ[c][t] for a tile-row group of up to 16 tiles at a time (one lane per tile,
//     see rows.go), read in place as B; the products M_ξ[o][t], a group at a time to the output
//     transform, which writes whole output rows.
//   - weight gradient: V_ξ[t][c] for 16 channels at a time (one lane per channel), read in place
//     as B, and Z_ξ = A dY Aᵀ as 8-row panels Z_ξ[o/8][t][o%8], 16 channels at a time, both from
//     the image at hand copied channel-blocked (blockChannels), so that a tap of 16 channels is
//     one load.
//
// It needs Cin and Cout to be multiples of 16 and the AVX-512 micro-kernel.

// avx512 reports whether the AVX-512 transforms run here.
var avx512 = haveAsm && gemm.HasPanels()

// Fast reports whether the AVX-512 path runs a convolution of cin to cout channels here.
func Fast(cin, cout int) bool {
	return avx512 && cin%16 == 0 && cout%16 == 0 && cin > 0 && cout > 0
}

// lanes is the vector width of the transforms: tiles or channels per call.
const lanes = 16

// packedFilters writes the transformed filters of the forward products (inputGrad false: rows
// o, columns c, U = G g Gᵀ of filter (o, c)) or of the input gradient's (inputGrad true: rows c,
// columns o, of the rotated filter, see FilterTransformInputGrad) as 8-row panels:
// dst[ξ·rows·cols + (r/8)·8·cols + col·8 + r%8]. rows % 8 == 0 and cols % 2 == 0: two panel
// columns (16 filters) a step of filters16. Panels run in parallel.
func packedFilters(w []float32, cout, cin int, inputGrad bool, dst []float32) {
	rows, cols := cout, cin
	if inputGrad {
		rows, cols = cin, cout
	}
	plane := rows * cols
	// Lane l holds filter (r, col) = (8p + l%8, 2q + l/8) of step q of panel p.
	var idx [lanes]int32
	for l := range idx {
		i, j := l%8, l/8
		if inputGrad {
			idx[l] = int32((j*cin + i) * 9)
		} else {
			idx[l] = int32((i*cin + j) * 9)
		}
	}
	parallel.For(rows/8, 1, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			out := dst[p*8*cols:]
			if inputGrad {
				filters16Rot(&w[8*p*9], &idx[0], cols/2, 2*cin*9, &out[0], plane)
			} else {
				filters16(&w[8*p*cin*9], &idx[0], cols/2, 2*9, &out[0], plane)
			}
		}
	})
}

// Block sizes of the AVX-512 path (variables so that tests can exercise every path).
var (
	// BlockFloats bounds one block's transformed input and products, 16·(Cin+Cout)·tiles floats,
	// so that they stay in the core's L2 cache between the transforms and the products.
	BlockFloats = 1 << 18
	// MaxBlockTiles is the most tiles a block takes.
	MaxBlockTiles = 192
	// GradBlockTiles is the tiles of one weight-gradient block: each block's products add to
	// all of dU, so blocks must be long enough that this traffic stays small next to their
	// arithmetic (a multiple of the panel width).
	GradBlockTiles = 288
)

// xiPad is the floats between consecutive ξ planes of the transformed blocks (one cache line):
// a plane of cin·ld floats is often a multiple of 4 KB (cin a multiple of 64, ld of 48), so the
// transforms' 16 stores of a tile group, one per plane, would fall into one set of the L1 cache
// and evict each other (Intel Xeon, AVX-512, one chunk in cache: input transform 4.3 → 3.3 ns
// per tile and channel, output 1.4 → 1.3; in the layers, where the products come between, the
// forward and input gradient gain 1-2%).
const xiPad = 16

// blockTiles is the tiles of one block for cin + cout channels: a multiple of the panel width,
// at least one panel.
func blockTiles(cin, cout int) int {
	t := BlockFloats / (xis * (cin + cout)) / gemm.PanelCols * gemm.PanelCols
	return max(gemm.PanelCols, min(t, MaxBlockTiles))
}

// productsFast is products on the AVX-512 path, with up the transformed filters packed as
// packFilters writes them (16 × [cout×cin] in 8-row panels). The n·tiles tiles are cut into
// blocks of consecutive tiles (across images); the workers take blocks from a shared counter and
// run each end to end: input transform, the 16 products, output transform.
func productsFast(n, cin, cout int, g Geom, x, up, bias, y []float32, accumulate bool) {
	tiles := g.Tiles()
	hw := g.H * g.W
	inSz, outSz := cin*hw, cout*hw
	total := n * tiles
	bt := blockTiles(cin, cout)
	zeros := getBuf(cout)
	defer putBuf(zeros)
	clear(*zeros)
	if bias == nil {
		bias = *zeros
	}
	blocks := (total + bt - 1) / bt
	bf16 := gemm.BF16()
	var upb *[]float32 // the filters in gemm's bfloat16 pair layout (cin is even: no pair straddles a panel)
	if bf16 {
		upb = getBuf(len(up) / 2)
		defer putBuf(upb)
		gemm.PairPanel(up, len(up)/8, gemm.Words(*upb))
	}
	parallel.Dynamic(blocks, 1, func(lo, hi int) {
		gp := groupBufs.Get().(*[]rowGroup)
		groups := *gp
		// The output transform reads 16 lanes from each group's first column: the last row of
		// the products needs slack.
		v, m := getBuf(xis*(cin*bt+xiPad)), getBuf(xis*(cout*bt+xiPad)+lanes)
		var vb *[]float32
		if bf16 {
			vb = getBuf(xis * cin / 2 * bt)
		}
		for blk := lo; blk < hi; blk++ {
			t0 := blk * bt
			cnt := min(bt, total-t0)
			ld := roundUp(cnt, gemm.PanelColsMin)
			b0 := t0 / tiles                      // the block's first image: offsets are from it
			vs, ms := cin*ld+xiPad, cout*ld+xiPad // ξ strides of V and M
			first := t0 - b0*tiles
			xs, ys := x[b0*inSz:], y[b0*outSz:]
			groups = g.rowGroups(groups[:0], first, cnt, inSz, outSz)
			col := 0
			for i := range groups {
				if groups[i].quad {
					input16q(&xs[0], &groups[i], hw, g.W, cin, &(*v)[col], ld, vs)
				} else {
					input16r(&xs[0], &groups[i], hw, g.W, cin, &(*v)[col], ld, vs)
				}
				col += groups[i].n
			}
			if ld > cnt { // the panels' last columns: zeros rather than stale values
				for xi := range xis {
					for r := range cin {
						clear((*v)[xi*vs+r*ld+cnt : xi*vs+(r+1)*ld])
					}
				}
			}
			if bf16 {
				ub, b := gemm.Words(*upb), gemm.Words(*vb)
				for xi := range xis {
					gemm.PairRows((*v)[xi*vs:], ld, ld, cin, b[xi*cin/2*ld:], ld)
				}
				for xi := 0; xi < xis; xi++ {
					gemm.MulPanelsBF16(cout, ld, cin/2, ub[xi*cout*cin/2:(xi+1)*cout*cin/2], b[xi*cin/2*ld:(xi+1)*cin/2*ld], ld,
						(*m)[xi*ms:xi*ms+cout*ld], ld, false)
				}
			} else {
				for xi := 0; xi < xis; xi++ {
					gemm.MulPanels(cout, ld, cin, up[xi*cout*cin:(xi+1)*cout*cin], (*v)[xi*vs:xi*vs+cin*ld], ld,
						(*m)[xi*ms:xi*ms+cout*ld], ld, false)
				}
			}
			col = 0
			for i := range groups {
				switch rg := &groups[i]; {
				case rg.quad && accumulate:
					output16qAcc(&(*m)[col], ld, ms, cout, &ys[0], hw, g.W, rg, &bias[0])
				case rg.quad:
					output16q(&(*m)[col], ld, ms, cout, &ys[0], hw, g.W, rg, &bias[0])
				case accumulate:
					output16rAcc(&(*m)[col], ld, ms, cout, &ys[0], hw, g.W, rg, &bias[0])
				default:
					output16r(&(*m)[col], ld, ms, cout, &ys[0], hw, g.W, rg, &bias[0])
				}
				col += groups[i].n
			}
		}
		putBuf(v)
		putBuf(m)
		if vb != nil {
			putBuf(vb)
		}
		*gp = groups[:0]
		groupBufs.Put(gp)
	})
}

// groupBufs holds the workers' tile-row group slices between calls.
var groupBufs = sync.Pool{New: func() any { return new([]rowGroup) }}

// gradGroups is the most groups the weight gradient's blocks are summed in (see weightGradFast),
// and gradGroupFloats bounds the groups' dU buffers together.
const (
	gradGroups      = 8
	gradGroupFloats = 1 << 24
)

// weightGradFast is WeightGrad on the AVX-512 path. The tiles are cut into blocks as in
// productsFast, and the blocks into a fixed number of groups of consecutive blocks (by the shape
// alone); the workers take whole groups from a shared counter, each summing its blocks' 16
// products dU_ξ += Z_ξ·V_ξᵀ in order into the group's own dU, and the groups are added in order
// at the end: dW is the same, bit for bit, whatever the number of cores.
func weightGradFast(s Shape, x, dy, dw []float32) {
	g := NewGeom(s.H, s.W)
	tiles, hw := g.Tiles(), s.H*s.W
	cin, cout := s.Cin, s.Cout
	inSz, outSz := cin*hw, cout*hw
	ldu := roundUp(cin, gemm.PanelColsMin)
	total := s.N * tiles
	bt := GradBlockTiles
	blocks := (total + bt - 1) / bt
	duSz := xis * cout * ldu
	groups := max(1, min(gradGroups, (blocks+1)/2, gradGroupFloats/duSz))
	dus := make([]*[]float32, groups)
	// The lane masks of each tile of an image (all lanes on or off: one tile, 16 channels):
	// input taps inside the image, outputs inside it.
	inMasks, outMasks := make([][xis]uint16, tiles), make([][4]uint16, tiles)
	for r := range tiles {
		ty, tx := r/g.TW, r%g.TW
		y0, x0 := 2*ty-1, 2*tx-1
		for i := 0; i < inTile; i++ {
			for j := 0; j < inTile; j++ {
				if y0+i >= 0 && y0+i < g.H && x0+j >= 0 && x0+j < g.W {
					inMasks[r][4*i+j] = 0xffff
				}
			}
		}
		for i := 0; i < 2; i++ {
			for j := 0; j < 2; j++ {
				if 2*ty+i < g.H && 2*tx+j < g.W {
					outMasks[r][2*i+j] = 0xffff
				}
			}
		}
	}
	bf16 := gemm.BF16()
	// transform writes the transforms of tiles [lo, hi) of the block of cnt tiles from t0 into
	// V and Z (as float32 rows or bfloat16 pair rows: lo even), img being the image now in xb, dyb.
	transform := func(t0, cnt, lo, hi int, xb, dyb *[]float32, img *int, v, z []float32, vw, zw []uint32) {
		kp := (cnt + 1) / 2
		vs, zs, vsw, zsw := cnt*cin+xiPad, cout*cnt+xiPad, kp*cin+xiPad, cout*kp+xiPad // ξ strides
		for t := lo; t < hi; t++ {
			b, r := (t0+t)/tiles, (t0+t)%tiles
			if b != *img {
				blockChannels(x[b*inSz:(b+1)*inSz], hw, *xb)
				blockChannels(dy[b*outSz:(b+1)*outSz], hw, *dyb)
				*img = b
			}
			ty, tx := r/g.TW, r%g.TW
			inOff, outOff := (2*ty-1)*g.W+2*tx-1, 2*ty*g.W+2*tx
			switch {
			case bf16 && t%2 == 0: // straight into the pair layout: tile t in pair row t/2
				inputBlk16Lo(&(*xb)[0], inOff, hw, g.W, cin/lanes, &inMasks[r][0], &vw[t/2*cin], vsw)
				gradBlk16Lo(&(*dyb)[0], outOff, hw, g.W, cout/lanes, &outMasks[r][0], &zw[t/2*8], zsw, kp*8)
			case bf16:
				inputBlk16Hi(&(*xb)[0], inOff, hw, g.W, cin/lanes, &inMasks[r][0], &vw[t/2*cin], vsw)
				gradBlk16Hi(&(*dyb)[0], outOff, hw, g.W, cout/lanes, &outMasks[r][0], &zw[t/2*8], zsw, kp*8)
			default:
				inputBlk16(&(*xb)[0], inOff, hw, g.W, cin/lanes, &inMasks[r][0], &v[t*cin], vs)
				gradBlk16(&(*dyb)[0], outOff, hw, g.W, cout/lanes, &outMasks[r][0], &z[t*8], zs, cnt*8)
			}
		}
	}
	// products adds products ξ in [lo, hi) of a block of cnt tiles to du (or sets them: first block).
	products := func(cnt, lo, hi int, v, z []float32, vw, zw []uint32, du []float32, acc bool) {
		kp := (cnt + 1) / 2
		vs, zs, vsw, zsw := cnt*cin+xiPad, cout*cnt+xiPad, kp*cin+xiPad, cout*kp+xiPad
		for xi := lo; xi < hi; xi++ {
			if bf16 {
				gemm.MulPanelsBF16(cout, ldu, kp, zw[xi*zsw:xi*zsw+cout*kp], vw[xi*vsw:], cin,
					du[xi*cout*ldu:(xi+1)*cout*ldu], ldu, acc)
			} else {
				gemm.MulPanels(cout, ldu, cnt, z[xi*zs:xi*zs+cout*cnt], v[xi*vs:], cin,
					du[xi*cout*ldu:(xi+1)*cout*ldu], ldu, acc)
			}
		}
	}
	// Fewer groups than cores (few, large blocks: 512 channels on 4×4 or 3×3): the groups run one
	// after another, each block's transforms and products spread over the cores instead (tiles
	// split at even indices for the bf16 pair rows, products by ξ). The same arithmetic on the
	// same data in the same order as one worker's, so the same bits.
	inner := groups < parallel.Workers()
	parallel.Dynamic(groups, 1, func(lo, hi int) {
		// V rows are cin apart but the products read ldu columns of each: the last row needs slack.
		var v, z, vb, zb *[]float32 // V and Z in float32, or in gemm's bfloat16 pair layout
		var vs, zs []float32
		var vw, zw []uint32 // vb and zb as words
		if bf16 {
			vb, zb = getBuf(xis*(cin*(bt+1)/2+xiPad)+ldu), getBuf(xis*(cout*(bt+1)/2+xiPad))
			vw, zw = gemm.Words(*vb), gemm.Words(*zb)
		} else {
			v, z = getBuf(xis*(cin*bt+xiPad)+ldu), getBuf(xis*(cout*bt+xiPad))
			vs, zs = *v, *z
		}
		// The image of the tiles at hand, x and dY, channel-blocked (see blockChannels).
		var xb, dyb *[]float32
		img := -1
		if !inner {
			xb, dyb = getBuf(inSz), getBuf(outSz)
		}
		for grp := lo; grp < hi; grp++ {
			du := getBuf(duSz)
			dus[grp] = du
			first := grp * blocks / groups
			for blk := first; blk < (grp+1)*blocks/groups; blk++ {
				t0 := blk * bt
				cnt := min(bt, total-t0)
				if !inner {
					transform(t0, cnt, 0, cnt, xb, dyb, &img, vs, zs, vw, zw)
					products(cnt, 0, xis, vs, zs, vw, zw, *du, blk > first)
					continue
				}
				pairs := (cnt + 1) / 2
				parallel.For(pairs, 1, func(plo, phi int) {
					xb, dyb := getBuf(inSz), getBuf(outSz)
					img := -1
					transform(t0, cnt, 2*plo, min(2*phi, cnt), xb, dyb, &img, vs, zs, vw, zw)
					putBuf(xb)
					putBuf(dyb)
				})
				parallel.For(xis, 1, func(xlo, xhi int) { products(cnt, xlo, xhi, vs, zs, vw, zw, *du, blk > first) })
			}
		}
		if bf16 {
			putBuf(vb)
			putBuf(zb)
		} else {
			putBuf(v)
			putBuf(z)
		}
		if !inner {
			putBuf(xb)
			putBuf(dyb)
		}
	})
	sum := *dus[0]
	parallel.For(duSz, 1<<14, func(lo, hi int) {
		dst := sum[lo:hi]
		for _, du := range dus[1:] {
			for i, v := range (*du)[lo:hi] {
				dst[i] += v
			}
		}
	})
	for _, du := range dus[1:] {
		putBuf(du)
	}
	plane := cout * cin
	parallel.For(plane, 256, func(lo, hi int) { filterGradStrided(*dus[0], cout, cin, ldu, lo, hi, dw) })
	putBuf(dus[0])
}

// blockChannels copies the image src (channels of hw floats, a multiple of 16 of them) to dst
// channel-blocked: channel 16q+l of pixel p at dst[(q·hw+p)·16+l].
func blockChannels(src []float32, hw int, dst []float32) {
	full := hw / lanes * lanes // pixels in whole 16×16 blocks
	for q := 0; q < len(src)/(lanes*hw); q++ {
		s, d := src[q*lanes*hw:(q+1)*lanes*hw], dst[q*lanes*hw:(q+1)*lanes*hw]
		if full > 0 {
			transpose16(&s[0], hw, &d[0], full/lanes)
		}
		for l := 0; l < lanes; l++ {
			for p := full; p < hw; p++ {
				d[p*lanes+l] = s[l*hw+p]
			}
		}
	}
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }
