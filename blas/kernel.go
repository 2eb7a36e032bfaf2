package blas

import "unsafe"

// microKernel computes the mr×nr tile C += Ã·B̃, where Ã is an mr-row panel of packed A (k steps of
// mr values, one per row) and B̃ an nr-column panel of packed B (k steps of nr values). c points at
// the tile's top-left element and ldc is C's row stride in elements. k is at least 1.
type microKernel func(k int, a, b, c *float32, ldc int)

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

func kernel4x4(k int, a, b, c *float32, ldc int) {
	as := unsafe.Slice(a, 4*k)
	bs := unsafe.Slice(b, 4*k)
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	for len(as) >= 4 && len(bs) >= 4 {
		a0, a1, a2, a3 := as[0], as[1], as[2], as[3]
		b0, b1, b2, b3 := bs[0], bs[1], bs[2], bs[3]
		as, bs = as[4:], bs[4:]
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
	r := cs[0:4:4]
	r[0] += c00
	r[1] += c01
	r[2] += c02
	r[3] += c03
	r = cs[ldc : ldc+4 : ldc+4]
	r[0] += c10
	r[1] += c11
	r[2] += c12
	r[3] += c13
	r = cs[2*ldc : 2*ldc+4 : 2*ldc+4]
	r[0] += c20
	r[1] += c21
	r[2] += c22
	r[3] += c23
	r = cs[3*ldc : 3*ldc+4 : 3*ldc+4]
	r[0] += c30
	r[1] += c31
	r[2] += c32
	r[3] += c33
}
