// Package winograd computes 3×3, stride-1, padding-1 convolutions with Winograd's minimal
// filtering algorithm F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2016): every 2×2 output tile of a channel pair is
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// with g the 3×3 filter, d the 4×4 input tile (origin two pixels apart from tile to tile, one
// pixel up and left of the output tile: the padding) and
//
//	Bᵀ = ⎡1  0 −1  0⎤   G = ⎡1    0    0 ⎤   Aᵀ = ⎡1 1  1  0⎤
//	     ⎢0  1  1  0⎥       ⎢½    ½    ½ ⎥        ⎣0 1 −1 −1⎦
//	     ⎢0 −1  1  0⎥       ⎢½   −½    ½ ⎥
//	     ⎣0  1  0 −1⎦       ⎣0    0    1 ⎦
//
// Summed over input channels, the 16 elementwise products become 16 independent matrix
// products M_ξ = U_ξ·V_ξ, [Cout×Cin]·[Cin×tiles], one per position ξ of the 4×4 transformed
// tile, which run on the engine's GEMM (internal/gemm): 16 multiply-adds per tile and channel
// pair instead of the 36 of direct convolution or im2col (2.25× fewer).
//
// Gradients use the same transforms. The input gradient of a stride-1, padding-1 3×3
// convolution is the same kind of convolution of dY with the filters rotated by 180° and
// their channel axes swapped, w'[c,o,ky,kx] = w[o,c,2−ky,2−kx]. The weight gradient is the
// adjoint of the forward tile formula,
//
//	dW = Gᵀ [ Σ_tiles (A dY_tile Aᵀ) ⊙ (Bᵀ d B) ] G,
//
// again 16 products, [Cout×tiles]·[tiles×Cin], accumulated over the batch.
//
// Partial tiles at the bottom and right of odd-sized images read zeros past the image (as the
// padding) and drop the outputs that fall outside it.
package winograd

// Tile sizes: a 4×4 input tile gives a 2×2 output tile; 16 transformed positions ξ.
const (
	inTile  = 4
	outTile = 2
	xis     = inTile * inTile
)

// Geom is the tiling of one H×W channel plane: TH×TW tiles of 2×2 outputs (the last row or
// column of tiles partial when H or W is odd).
type Geom struct {
	H, W   int
	TH, TW int
}

// NewGeom is the tiling of an H×W plane.
func NewGeom(h, w int) Geom {
	return Geom{H: h, W: w, TH: (h + outTile - 1) / outTile, TW: (w + outTile - 1) / outTile}
}

// Tiles is the number of tiles of one plane, TH·TW.
func (g Geom) Tiles() int { return g.TH * g.TW }

// padded is the side lengths of the zero-padded plane the input transform reads: one zero row
// and column before the image, and after it enough to complete the last tile.
func (g Geom) padded() (hp, wp int) { return 2*g.TH + 2, 2*g.TW + 2 }

// PadLen is the scratch, in floats, that InputPlane needs.
func (g Geom) PadLen() int {
	hp, wp := g.padded()
	return hp * wp
}

// FilterTransform writes U = G g Gᵀ of every filter of w [Cout][Cin][3][3] into u, position
// ξ = 4i+j of filter (o, c) at u[ξ·Cout·Cin + o·Cin + c]: 16 matrices [Cout×Cin], the left-hand
// sides of the forward products. len(u) ≥ 16·Cout·Cin.
func FilterTransform(w []float32, cout, cin int, u []float32) {
	plane := cout * cin
	for o := 0; o < cout; o++ {
		for c := 0; c < cin; c++ {
			var g [9]float32
			copy(g[:], w[(o*cin+c)*9:(o*cin+c)*9+9])
			filterTile(&g, u[o*cin+c:], plane)
		}
	}
}

// FilterTransformInputGrad writes the transformed filters of the input gradient's convolution,
// w'[c,o,ky,kx] = w[o,c,2−ky,2−kx] (rotated by 180°, channel axes swapped), into u, position ξ
// of (c, o) at u[ξ·Cin·Cout + c·Cout + o]: 16 matrices [Cin×Cout]. len(u) ≥ 16·Cout·Cin.
func FilterTransformInputGrad(w []float32, cout, cin int, u []float32) {
	plane := cout * cin
	for o := 0; o < cout; o++ {
		for c := 0; c < cin; c++ {
			src := w[(o*cin+c)*9 : (o*cin+c)*9+9]
			var g [9]float32
			for i := range g {
				g[i] = src[8-i]
			}
			filterTile(&g, u[c*cout+o:], plane)
		}
	}
}

// filterTile writes G g Gᵀ of the 3×3 filter g (row-major) to u[ξ·stride], computed in float64.
func filterTile(g *[9]float32, u []float32, stride int) {
	// t = G g: 4×3.
	var t [4][3]float64
	for j := 0; j < 3; j++ {
		g0, g1, g2 := float64(g[j]), float64(g[3+j]), float64(g[6+j])
		t[0][j] = g0
		t[1][j] = 0.5 * (g0 + g1 + g2)
		t[2][j] = 0.5 * (g0 - g1 + g2)
		t[3][j] = g2
	}
	// U = t Gᵀ: 4×4.
	for i := 0; i < 4; i++ {
		t0, t1, t2 := t[i][0], t[i][1], t[i][2]
		u[(4*i+0)*stride] = float32(t0)
		u[(4*i+1)*stride] = float32(0.5 * (t0 + t1 + t2))
		u[(4*i+2)*stride] = float32(0.5 * (t0 - t1 + t2))
		u[(4*i+3)*stride] = float32(t2)
	}
}

// FilterGrad adds dW = Gᵀ dU G to gw [Cout][Cin][3][3] for every filter, where dU holds the 16
// summed products, position ξ of (o, c) at du[ξ·Cout·Cin + o·Cin + c] (the layout of
// FilterTransform). The sums run in float64.
func FilterGrad(du []float32, cout, cin int, gw []float32) {
	filterGrad(du, cout*cin, 0, cout*cin, gw)
}

// filterGrad is FilterGrad for the filters oc = o·Cin + c in [lo, hi), plane = Cout·Cin.
func filterGrad(du []float32, plane, lo, hi int, gw []float32) {
	filterGradStrided(du, plane, 1, 1, lo, hi, gw)
}

// filterGradStrided is filterGrad with dU's rows ld apart: filter (o, c) at du[ξ·rows·ld +
// o·ld + c], for rows output channels of cols input channels each.
func filterGradStrided(du []float32, rows, cols, ld, lo, hi int, gw []float32) {
	var out [9 * 8 * 8]float32 // filterGrad8's results: 8 groups of 8 filters
	for oc := lo; oc < hi; {
		off := oc/cols*ld + oc%cols
		// Eight groups of 8 filters at a time (fewer at the end of a row or the range) where the
		// AVX-512 path runs and their products are consecutive; the arithmetic is the same.
		if n := min(8, (hi-oc)/8); avx512 && n > 0 && (ld == cols || oc%cols+8*n <= cols) {
			filterGrad8(&du[off], rows*ld, n, &out[0])
			for k := 0; k < n; k++ {
				o := (*[72]float32)(out[72*k:])
				w := (*[72]float32)(gw[(oc+8*k)*9:])
				for l := 0; l < 8; l++ {
					for t := 0; t < 9; t++ {
						w[9*l+t] += o[8*t+l]
					}
				}
			}
			oc += 8 * n
			continue
		}
		filterGradOne(du, rows, ld, off, gw[oc*9:oc*9+9])
		oc++
	}
}

// filterGradOne adds Gᵀ d G of the filter whose products are at du[ξ·rows·ld + off] to w.
func filterGradOne(du []float32, rows, ld, off int, w []float32) {
	var d [4][4]float64
	for xi := 0; xi < xis; xi++ {
		d[xi/4][xi%4] = float64(du[xi*rows*ld+off])
	}
	// t = Gᵀ d: 3×4, Gᵀ = [[1 ½ ½ 0] [0 ½ −½ 0] [0 ½ ½ 1]].
	var t [3][4]float64
	for j := 0; j < 4; j++ {
		t[0][j] = d[0][j] + 0.5*(d[1][j]+d[2][j])
		t[1][j] = 0.5 * (d[1][j] - d[2][j])
		t[2][j] = 0.5*(d[1][j]+d[2][j]) + d[3][j]
	}
	for i := 0; i < 3; i++ {
		r := t[i]
		w[3*i+0] += float32(r[0] + 0.5*(r[1]+r[2]))
		w[3*i+1] += float32(0.5 * (r[1] - r[2]))
		w[3*i+2] += float32(0.5*(r[1]+r[2]) + r[3])
	}
}

// InputPlane writes V = Bᵀ d B of every tile d of the H×W plane x, position ξ of tile
// t = ty·TW + tx at v[ξ·stride + t]. pad is scratch of g.PadLen() floats.
func InputPlane(g Geom, x []float32, v []float32, stride int, pad []float32) {
	hp, wp := g.padded()
	pad = pad[:hp*wp]
	// The zero-padded plane: row 0 and rows past H, column 0 and columns past W are zero.
	clear(pad[:wp])
	for y := 0; y < g.H; y++ {
		row := pad[(y+1)*wp : (y+2)*wp]
		row[0] = 0
		copy(row[1:], x[y*g.W:(y+1)*g.W])
		clear(row[1+g.W:])
	}
	clear(pad[(g.H+1)*wp:])
	tw := g.TW
	for ty := 0; ty < g.TH; ty++ {
		r0 := pad[2*ty*wp : (2*ty+1)*wp]
		r1 := pad[(2*ty+1)*wp : (2*ty+2)*wp]
		r2 := pad[(2*ty+2)*wp : (2*ty+3)*wp]
		r3 := pad[(2*ty+3)*wp : (2*ty+4)*wp]
		base := ty * tw
		v0 := v[base : base+tw]
		v1 := v[stride+base : stride+base+tw]
		v2 := v[2*stride+base : 2*stride+base+tw]
		v3 := v[3*stride+base : 3*stride+base+tw]
		v4 := v[4*stride+base : 4*stride+base+tw]
		v5 := v[5*stride+base : 5*stride+base+tw]
		v6 := v[6*stride+base : 6*stride+base+tw]
		v7 := v[7*stride+base : 7*stride+base+tw]
		v8 := v[8*stride+base : 8*stride+base+tw]
		v9 := v[9*stride+base : 9*stride+base+tw]
		v10 := v[10*stride+base : 10*stride+base+tw]
		v11 := v[11*stride+base : 11*stride+base+tw]
		v12 := v[12*stride+base : 12*stride+base+tw]
		v13 := v[13*stride+base : 13*stride+base+tw]
		v14 := v[14*stride+base : 14*stride+base+tw]
		v15 := v[15*stride+base : 15*stride+base+tw]
		for k := 0; k < tw; k++ {
			x0 := 2 * k
			a := r0[x0 : x0+4 : x0+4]
			b := r1[x0 : x0+4 : x0+4]
			c := r2[x0 : x0+4 : x0+4]
			d := r3[x0 : x0+4 : x0+4]
			// Columns: t = Bᵀ d (rows t0..t3), one column at a time.
			t00, t01, t02, t03 := a[0]-c[0], a[1]-c[1], a[2]-c[2], a[3]-c[3]
			t10, t11, t12, t13 := b[0]+c[0], b[1]+c[1], b[2]+c[2], b[3]+c[3]
			t20, t21, t22, t23 := c[0]-b[0], c[1]-b[1], c[2]-b[2], c[3]-b[3]
			t30, t31, t32, t33 := b[0]-d[0], b[1]-d[1], b[2]-d[2], b[3]-d[3]
			// Rows: V = t B.
			v0[k], v1[k], v2[k], v3[k] = t00-t02, t01+t02, t02-t01, t01-t03
			v4[k], v5[k], v6[k], v7[k] = t10-t12, t11+t12, t12-t11, t11-t13
			v8[k], v9[k], v10[k], v11[k] = t20-t22, t21+t22, t22-t21, t21-t23
			v12[k], v13[k], v14[k], v15[k] = t30-t32, t31+t32, t32-t31, t31-t33
		}
	}
}

// OutputPlane writes Y = Aᵀ m A of every tile of one output plane y (H×W) from the 16 products
// m, position ξ of tile t at m[ξ·stride + t], plus bias; with accumulate it adds Y to y instead.
// The outputs of partial tiles that fall outside the plane are dropped.
func OutputPlane(g Geom, m []float32, stride int, y []float32, bias float32, accumulate bool) {
	tw, w := g.TW, g.W
	fullW := w / 2 // tiles whose two columns both lie in the plane
	for ty := 0; ty < g.TH; ty++ {
		base := ty * tw
		m0 := m[base : base+tw]
		m1 := m[stride+base : stride+base+tw]
		m2 := m[2*stride+base : 2*stride+base+tw]
		m3 := m[3*stride+base : 3*stride+base+tw]
		m4 := m[4*stride+base : 4*stride+base+tw]
		m5 := m[5*stride+base : 5*stride+base+tw]
		m6 := m[6*stride+base : 6*stride+base+tw]
		m7 := m[7*stride+base : 7*stride+base+tw]
		m8 := m[8*stride+base : 8*stride+base+tw]
		m9 := m[9*stride+base : 9*stride+base+tw]
		m10 := m[10*stride+base : 10*stride+base+tw]
		m11 := m[11*stride+base : 11*stride+base+tw]
		m12 := m[12*stride+base : 12*stride+base+tw]
		m13 := m[13*stride+base : 13*stride+base+tw]
		m14 := m[14*stride+base : 14*stride+base+tw]
		m15 := m[15*stride+base : 15*stride+base+tw]
		y0 := y[2*ty*w : (2*ty+1)*w]
		var y1 []float32
		if 2*ty+1 < g.H {
			y1 = y[(2*ty+1)*w : (2*ty+2)*w]
		}
		for k := 0; k < tw; k++ {
			// Columns: s = Aᵀ m (rows s0, s1).
			s00 := m0[k] + m4[k] + m8[k]
			s01 := m1[k] + m5[k] + m9[k]
			s02 := m2[k] + m6[k] + m10[k]
			s03 := m3[k] + m7[k] + m11[k]
			s10 := m4[k] - m8[k] - m12[k]
			s11 := m5[k] - m9[k] - m13[k]
			s12 := m6[k] - m10[k] - m14[k]
			s13 := m7[k] - m11[k] - m15[k]
			// Rows: Y = s A.
			a00, a01 := s00+s01+s02+bias, s01-s02-s03+bias
			a10, a11 := s10+s11+s12+bias, s11-s12-s13+bias
			x0 := 2 * k
			if k < fullW {
				if accumulate {
					y0[x0] += a00
					y0[x0+1] += a01
					if y1 != nil {
						y1[x0] += a10
						y1[x0+1] += a11
					}
				} else {
					y0[x0], y0[x0+1] = a00, a01
					if y1 != nil {
						y1[x0], y1[x0+1] = a10, a11
					}
				}
				continue
			}
			if accumulate {
				y0[x0] += a00
				if y1 != nil {
					y1[x0] += a10
				}
			} else {
				y0[x0] = a00
				if y1 != nil {
					y1[x0] = a10
				}
			}
		}
	}
}

// GradPlane writes Z = A dY Aᵀ of every 2×2 tile of the output-gradient plane dy (H×W; zeros
// past its edges), position ξ of tile t at z[ξ·stride + t]: the output side of the weight
// gradient. A = (Aᵀ)ᵀ, so each row and column (a, b) of a tile becomes (a, a+b, a−b, −b).
func GradPlane(g Geom, dy []float32, z []float32, stride int) {
	tw, w := g.TW, g.W
	fullW := w / 2
	for ty := 0; ty < g.TH; ty++ {
		base := ty * tw
		y0 := dy[2*ty*w : (2*ty+1)*w]
		var y1 []float32
		if 2*ty+1 < g.H {
			y1 = dy[(2*ty+1)*w : (2*ty+2)*w]
		}
		for k := 0; k < tw; k++ {
			x0 := 2 * k
			var g00, g01, g10, g11 float32
			g00 = y0[x0]
			if k < fullW {
				g01 = y0[x0+1]
			}
			if y1 != nil {
				g10 = y1[x0]
				if k < fullW {
					g11 = y1[x0+1]
				}
			}
			// Columns: rows r = A·(g0·, g1·).
			r00, r01 := g00, g01
			r10, r11 := g00+g10, g01+g11
			r20, r21 := g00-g10, g01-g11
			r30, r31 := -g10, -g11
			t := base + k
			z[t], z[stride+t], z[2*stride+t], z[3*stride+t] = r00, r00+r01, r00-r01, -r01
			z[4*stride+t], z[5*stride+t], z[6*stride+t], z[7*stride+t] = r10, r10+r11, r10-r11, -r11
			z[8*stride+t], z[9*stride+t], z[10*stride+t], z[11*stride+t] = r20, r20+r21, r20-r21, -r21
			z[12*stride+t], z[13*stride+t], z[14*stride+t], z[15*stride+t] = r30, r30+r31, r30-r31, -r31
		}
	}
}
