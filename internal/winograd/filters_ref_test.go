package winograd

// The Go reference of the AVX-512 filter transforms (filters16, filters16Rot), for their tests.

// packedFiltersGo is packedFilters one filter at a time in Go.
func packedFiltersGo(w []float32, cout, cin int, inputGrad bool, dst []float32) {
	rows, cols := cout, cin
	if inputGrad {
		rows, cols = cin, cout
	}
	plane := rows * cols
	for p := 0; p < rows/8; p++ {
		for col := 0; col < cols; col++ {
			for i := 0; i < 8; i++ {
				r := 8*p + i
				var g *[9]float32
				if inputGrad {
					g = (*[9]float32)(w[(col*cin+r)*9:])
				} else {
					g = (*[9]float32)(w[(r*cin+col)*9:])
				}
				for xi, u := range filterTile32(g, inputGrad) {
					dst[xi*plane+p*8*cols+col*8+i] = u
				}
			}
		}
	}
}

// filterTile32 is G g Gᵀ of the 3×3 filter g (row-major; rotated by 180° first when rotate),
// in float32: every entry is a sum of at most 9 terms scaled by ½ or ¼, so float32 rounds it
// as the float64 version does within an ulp or two.
func filterTile32(g *[9]float32, rotate bool) (u [xis]float32) {
	g0, g1, g2, g3, g4, g5, g6, g7, g8 := g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8]
	if rotate {
		g0, g1, g2, g3, g5, g6, g7, g8 = g8, g7, g6, g5, g3, g2, g1, g0 // g4 stays
	}
	// t = G g: rows (g0 g1 g2), ½(col sums), ½(alternating), (g6 g7 g8).
	t10, t11, t12 := 0.5*(g0+g3+g6), 0.5*(g1+g4+g7), 0.5*(g2+g5+g8)
	t20, t21, t22 := 0.5*(g0-g3+g6), 0.5*(g1-g4+g7), 0.5*(g2-g5+g8)
	row := func(i int, a, b, c float32) {
		u[4*i], u[4*i+1], u[4*i+2], u[4*i+3] = a, 0.5*(a+b+c), 0.5*(a-b+c), c
	}
	row(0, g0, g1, g2)
	row(1, t10, t11, t12)
	row(2, t20, t21, t22)
	row(3, g6, g7, g8)
	return u
}
