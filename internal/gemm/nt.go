package gemm

import "fmt"

// MulNT computes C += A·Bᵀ for A m×k and B n×k, both row-major along k (lda, ldb floats apart),
// C m×n (ldc apart), on the calling goroutine: the weight gradient of a convolution with few
// input channels, dW = G·colᵀ, where n = Cin·9 is too small for the panel kernels and packing
// G costs more than the products (conv1 of the reference model: 32 channels of 784 positions
// for 9 taps). Each value is a dot product along k; on AVX-512 in 16 lanes, three rows of A by
// nine of B at a time (ntKernel3x9), the lanes summed at the end; elsewhere in one float32
// sum in order. Both depend on the shapes alone, not on the caller's threads.
func MulNT(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 || (m > 0 && n > 0 && k > 0 && (lda < k || ldb < k || ldc < n ||
		len(a) < (m-1)*lda+k || len(b) < (n-1)*ldb+k || len(c) < (m-1)*ldc+n)) {
		panic(fmt.Sprintf("gemm.MulNT: m=%d n=%d k=%d with %d values of A (stride %d), %d of B (stride %d), %d of C (stride %d)",
			m, n, k, len(a), lda, len(b), ldb, len(c), ldc))
	}
	if m == 0 || n == 0 || k == 0 {
		return
	}
	if !hasNT {
		for i := range m {
			ar := a[i*lda : i*lda+k]
			for j := range n {
				br := b[j*ldb : j*ldb+k]
				var s float32
				for p, v := range ar {
					s += v * br[p]
				}
				c[i*ldc+j] += s
			}
		}
		return
	}
	kv, mask := k/16, uint16(1)<<(k%16)-1
	var rows [12]*float32
	var out [27]float32
	for i0 := 0; i0 < m; i0 += 3 {
		for r := range 3 {
			rows[r] = &a[min(i0+r, m-1)*lda] // past m: any row, its sums unused
		}
		for j0 := 0; j0 < n; j0 += 9 {
			for t := range 9 {
				rows[3+t] = &b[min(j0+t, n-1)*ldb]
			}
			ntKernel3x9(&rows, kv, mask, &out)
			for r := range min(3, m-i0) {
				for t := range min(9, n-j0) {
					c[(i0+r)*ldc+j0+t] += out[3*t+r]
				}
			}
		}
	}
}

// HasNT reports whether MulNT runs on its AVX-512 kernel here; elsewhere it is a plain Go loop,
// slower than a GEMM on anything but tiny products.
func HasNT() bool { return hasNT }
