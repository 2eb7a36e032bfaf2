package gemm

import "unsafe"

// microKernel computes the mr×nr tile T = Ã·B̃, where Ã is an mr-row panel of packed A (k steps of
// mr values, one per row) and B̃ is k rows of nr values, ldb floats apart (nr for a packed panel,
// B's own row stride were B read in place; gemm always packs it). c points at the tile's top-left element of C and
// ldc is C's row stride; load = true adds T to C, load = false overwrites C with T. k ≥ 1.
type microKernel func(k int, a, b *float32, ldb int, c *float32, ldc int, load bool)

// kernel is one micro-kernel with its register-tile shape and the cache-block sizes tuned for it.
type kernel struct {
	name   string // for Describe: "avx512 8x48", "go 4x4", ...
	mr, nr int    // register tile: rows of A, columns of B
	kc     int    // depth of a packed block (the B micro-panel kc×nr lives in L1)
	mc     int    // rows of a packed A block (mc×kc lives in L2); a multiple of mr
	nc     int    // columns of a packed B block (kc×nc lives in L3); a multiple of nr
	fn     microKernel
}

// goKernel4x4 is the portable micro-kernel: a 4×4 tile held in sixteen local variables.
var goKernel4x4 = &kernel{name: "go 4x4", mr: 4, nr: 4, kc: 256, mc: 128, nc: 1024, fn: kernel4x4}

func kernel4x4(k int, a, b *float32, ldb int, c *float32, ldc int, load bool) {
	as := unsafe.Slice(a, 4*k)
	bs := unsafe.Slice(b, (k-1)*ldb+4)
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := 0; p < k; p++ {
		av := as[4*p : 4*p+4 : 4*p+4]
		bv := bs[p*ldb : p*ldb+4 : p*ldb+4]
		a0, a1, a2, a3 := av[0], av[1], av[2], av[3]
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	rows := [4][4]float32{
		{c00, c01, c02, c03},
		{c10, c11, c12, c13},
		{c20, c21, c22, c23},
		{c30, c31, c32, c33},
	}
	for i := range rows {
		r := cs[i*ldc : i*ldc+4 : i*ldc+4]
		if load {
			r[0] += rows[i][0]
			r[1] += rows[i][1]
			r[2] += rows[i][2]
			r[3] += rows[i][3]
		} else {
			copy(r, rows[i][:])
		}
	}
}
