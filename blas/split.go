package blas

import (
	"sync"
)

// splitFlops is the size m·n·k from which a product is split over goroutines.
const splitFlops = 64 * 64 * 64

// splitProduct runs C = op(A)·op(B) as up to workers independent sub-products, each on its own
// goroutine: blocks of C's rows when C is taller than wide, else blocks of its columns (aligned
// to 16). part receives the block's sizes and the sub-slices of a, b and c where the block starts;
// strides are unchanged.
func splitProduct(workers int, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, part func(m, n int, a, b, c []float32)) {
	if workers <= 1 || m*n*k < splitFlops || k == 0 {
		part(m, n, a, b, c)
		return
	}
	splitProductAlways(workers, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, part)
}

// splitProductAlways is splitProduct without the size threshold (tests use it on small shapes).
func splitProductAlways(workers int, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, part func(m, n int, a, b, c []float32)) {
	byRows := m >= n
	size := n
	if byRows {
		size = m
	}
	step := (size + workers - 1) / workers
	if size >= 64 {
		step = (step + 15) &^ 15
	}
	if step >= size {
		part(m, n, a, b, c)
		return
	}
	var wg sync.WaitGroup
	for lo := 0; lo < size; lo += step {
		hi := min(lo+step, size)
		var pa, pb, pc []float32
		pm, pn := m, n
		if byRows {
			pm = hi - lo
			pa, pb, pc = a[offset(transA, lo, lda):], b, c[lo*ldc:]
		} else {
			pn = hi - lo
			pa, pb, pc = a, b[offset(!transB, lo, ldb):], c[lo:]
		}
		if hi == size {
			part(pm, pn, pa, pb, pc)
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			part(pm, pn, pa, pb, pc)
		}()
	}
	wg.Wait()
}

// offset is where row (or, for a transposed operand, column) i of an operand starts: a row of A
// is row i of its storage unless A is stored transposed, when it is column i. For B the caller
// passes !transB, since B's columns are what a column block selects.
func offset(trans bool, i, ld int) int {
	if trans {
		return i
	}
	return i * ld
}
