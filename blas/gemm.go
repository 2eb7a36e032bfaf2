package blas

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
)

// goBackend is the pure-Go GEMM: the GotoBLAS loop nest (blocks of B packed for L3, blocks of A
// packed for L2, a register-tile micro-kernel over them), with the output split between
// GOMAXPROCS goroutines that each run the loop nest on their own rectangle of C.
type goBackend struct{}

// Name returns "go".
func (goBackend) Name() string { return "go" }

// describe reads, for example, "go (pure Go, avx512 8x48 micro-kernel, 2 goroutines)".
func (goBackend) describe() string {
	return fmt.Sprintf("go (pure Go, %s micro-kernel, %d goroutines)", bestKernel().name, runtime.GOMAXPROCS(0))
}

// Sgemm checks its arguments and computes C = alpha·op(A)·op(B) + beta·C.
func (goBackend) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	check(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	gemm(bestKernel(), runtime.GOMAXPROCS(0), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

var bestKernel = sync.OnceValue(func() *kernel { return kernels()[0] })

// kernelNames lists the micro-kernels this machine can run, fastest first.
func kernelNames() string {
	var names []string
	for _, k := range kernels() {
		names = append(names, k.name)
	}
	return strings.Join(names, ", ")
}

// parallelFlops is the size m·n·k below which a product runs on the calling goroutine alone.
const parallelFlops = 48 * 48 * 48

// gemm computes C = alpha·op(A)·op(B) + beta·C with kernel kern on up to workers goroutines.
// The arguments must already have been checked.
func gemm(kern *kernel, workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if m*n*k < parallelFlops {
		workers = 1
	}
	tilesM := (m + kern.mr - 1) / kern.mr
	tilesN := (n + kern.nr - 1) / kern.nr
	// Split the rows of C when there are enough row tiles to go round, else the columns.
	splitM := tilesM >= workers && (tilesM >= tilesN || tilesN < workers)
	if splitM {
		workers = min(workers, tilesM)
	} else {
		workers = min(workers, tilesN)
	}
	if workers <= 1 {
		gemmSerial(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	tiles, size := tilesN, kern.nr
	if splitM {
		tiles, size = tilesM, kern.mr
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo := tiles * w / workers * size
		hi := min(tiles*(w+1)/workers*size, m)
		if !splitM {
			hi = min(tiles*(w+1)/workers*size, n)
		}
		if lo >= hi {
			continue
		}
		run := func() {
			if splitM {
				// Rows lo..hi of op(A) and of C.
				aOff := lo * lda
				if transA {
					aOff = lo
				}
				gemmSerial(kern, transA, transB, hi-lo, n, k, alpha, a[aOff:], lda, b, ldb, beta, c[lo*ldc:], ldc)
			} else {
				// Columns lo..hi of op(B) and of C.
				bOff := lo
				if transB {
					bOff = lo * ldb
				}
				gemmSerial(kern, transA, transB, m, hi-lo, k, alpha, a, lda, b[bOff:], ldb, beta, c[lo:], ldc)
			}
		}
		if w == workers-1 {
			run()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			run()
		}()
	}
	wg.Wait()
}

// buffers holds one goroutine's packing space; a pool keeps them between calls.
type buffers struct {
	a, b, tile []float32
}

var bufPool sync.Pool

// getBuffers returns packing space for an m×n×k product: no more than the kernel's cache blocks,
// and no more than the product needs, so that small products do not allocate megabytes.
func getBuffers(kern *kernel, m, n, k int) *buffers {
	kb := min(kern.kc, k)
	na := min(kern.mc, roundUp(m, kern.mr)) * kb
	nb := min(kern.nc, roundUp(n, kern.nr)) * kb
	nt := kern.mr * kern.nr
	v, _ := bufPool.Get().(*buffers)
	if v == nil {
		v = new(buffers)
	}
	if len(v.a) < na {
		v.a = make([]float32, na)
	}
	if len(v.b) < nb {
		v.b = make([]float32, nb)
	}
	if len(v.tile) < nt {
		v.tile = make([]float32, nt)
	}
	return v
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// gemmSerial is the blocked, packed loop nest on the calling goroutine.
func gemmSerial(kern *kernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	scaleC(m, n, beta, c, ldc)
	if k == 0 || alpha == 0 {
		return
	}
	buf := getBuffers(kern, m, n, k)
	defer bufPool.Put(buf)
	mr, nr := kern.mr, kern.nr
	tile := buf.tile[:mr*nr]
	for jc := 0; jc < n; jc += kern.nc {
		nb := min(kern.nc, n-jc)
		for pc := 0; pc < k; pc += kern.kc {
			kb := min(kern.kc, k-pc)
			packB(buf.b, nr, transB, b, ldb, pc, jc, kb, nb)
			for ic := 0; ic < m; ic += kern.mc {
				mb := min(kern.mc, m-ic)
				packA(buf.a, mr, transA, alpha, a, lda, ic, pc, mb, kb)
				for jr := 0; jr < nb; jr += nr {
					nn := min(nr, nb-jr)
					bp := &buf.b[jr*kb]
					for ir := 0; ir < mb; ir += mr {
						mm := min(mr, mb-ir)
						ap := &buf.a[ir*kb]
						ci := (ic+ir)*ldc + jc + jr
						if mm == mr && nn == nr {
							kern.fn(kb, ap, bp, &c[ci], ldc)
							continue
						}
						// An edge tile: compute the full tile aside, then add the part that exists.
						clear(tile)
						kern.fn(kb, ap, bp, &tile[0], nr)
						for i := 0; i < mm; i++ {
							row := c[ci+i*ldc : ci+i*ldc+nn]
							for j, v := range tile[i*nr : i*nr+nn] {
								row[j] += v
							}
						}
					}
				}
			}
		}
	}
}

// packA copies alpha·op(A)[i0:i0+mb, p0:p0+kb] into dst as panels of mr rows: panel r holds, for
// each p in turn, the mr values of column p, with rows past mb set to zero.
func packA(dst []float32, mr int, trans bool, alpha float32, a []float32, lda, i0, p0, mb, kb int) {
	for r := 0; r < mb; r += mr {
		rows := min(mr, mb-r)
		panel := dst[r*kb : r*kb+mr*kb]
		if rows < mr {
			clear(panel)
		}
		if trans {
			// op(A)[i][p] = a[p*lda+i]: each p reads rows consecutive values.
			for p := 0; p < kb; p++ {
				src := a[(p0+p)*lda+i0+r : (p0+p)*lda+i0+r+rows]
				d := panel[p*mr : p*mr+rows]
				if alpha == 1 {
					copy(d, src)
					continue
				}
				for i, v := range src {
					d[i] = alpha * v
				}
			}
			continue
		}
		// op(A)[i][p] = a[i*lda+p]: each row i is read once and scattered with stride mr.
		for i := 0; i < rows; i++ {
			src := a[(i0+r+i)*lda+p0 : (i0+r+i)*lda+p0+kb]
			d := panel[i:]
			if alpha == 1 {
				for p, v := range src {
					d[p*mr] = v
				}
				continue
			}
			for p, v := range src {
				d[p*mr] = alpha * v
			}
		}
	}
}

// packB copies op(B)[p0:p0+kb, j0:j0+nb] into dst as panels of nr columns: panel s holds, for each
// p in turn, the nr values of row p, with columns past nb set to zero.
func packB(dst []float32, nr int, trans bool, b []float32, ldb, p0, j0, kb, nb int) {
	for s := 0; s < nb; s += nr {
		cols := min(nr, nb-s)
		panel := dst[s*kb : s*kb+nr*kb]
		if cols < nr {
			clear(panel)
		}
		if !trans {
			// op(B)[p][j] = b[p*ldb+j]: each p is one contiguous copy.
			for p := 0; p < kb; p++ {
				off := (p0+p)*ldb + j0 + s
				copy(panel[p*nr:p*nr+cols], b[off:off+cols])
			}
			continue
		}
		// op(B)[p][j] = b[j*ldb+p]: each column j is read once and scattered with stride nr.
		for j := 0; j < cols; j++ {
			off := (j0+s+j)*ldb + p0
			d := panel[j:]
			for p, v := range b[off : off+kb] {
				d[p*nr] = v
			}
		}
	}
}
