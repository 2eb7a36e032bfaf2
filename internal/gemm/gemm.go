// Package gemm is the engine's pure-Go single-precision GEMM: the GotoBLAS loop nest around
// register-tile micro-kernels written in Go assembly (AVX-512 8x48 and AVX2+FMA 6x16, offered by
// CPUID and XGETBV, timed once at first use and picked per product by padded work over speed),
// with a portable 4x4 Go micro-kernel on other CPUs and architectures.
//
// For each kc×nc block of op(B), packed once into nr-column panels shared by all goroutines, the
// goroutines take mc×kc blocks of op(A) (packed, alpha folded in, into mr-row panels) — or, when
// A has few row blocks, pieces of them and of B's columns — from a shared counter and run the
// micro-kernel over them. Taking work from a counter rather than splitting it up front keeps both
// cores busy when one of them is also running something else.
//
// Package blas offers this GEMM to users as its "go" backend. The entry points here that blas
// does not offer (GemmPackB, PackedA) are the convolutions' plumbing: op(B) supplied panel by
// panel (implicit im2col) and a left-hand side packed once for many products.
//
// All matrices are row-major, as in package blas; arguments are checked by the callers.
package gemm

import (
	"fmt"
	"math"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C (see package blas for the contract) on up to
// workers goroutines, with the micro-kernel kernelFor picks for the shape. The arguments must
// already have been checked.
func Sgemm(workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm(kernelFor(m, n, false), false, workers, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmBF16 is Sgemm with the bfloat16 products when they are on (BF16): for the
// convolutions' explicit-im2col products, which follow the precision switch as their implicit
// ones (GemmPackB, GemmPackedA) do. Matrix products elsewhere (Sgemm) stay float32.
func SgemmBF16(workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	bf := BF16()
	gemm(kernelFor(m, n, bf), bf, workers, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Kernel is one of the micro-kernels this CPU runs, for tests and benchmarks that force one.
type Kernel struct{ k *kernel }

// Name is the micro-kernel's name, for example "avx512 8x48".
func (k Kernel) Name() string { return k.k.name }

// Tile is the micro-kernel's register tile: rows of A, columns of B.
func (k Kernel) Tile() (mr, nr int) { return k.k.mr, k.k.nr }

// Kernels lists the micro-kernels this CPU and operating system can run, fastest first; the
// portable Go kernel is always last.
func Kernels() []Kernel {
	var out []Kernel
	for _, k := range kernels() {
		out = append(out, Kernel{k})
	}
	return out
}

// SgemmWith is Sgemm with the micro-kernel forced.
func SgemmWith(kern Kernel, workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm(kern.k, false, workers, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Fast reports whether this CPU runs one of the assembly micro-kernels.
func Fast() bool { return kernels()[0] != goKernel4x4 }

// rated is a micro-kernel with its measured in-cache speed.
type rated struct {
	*kernel
	gflops float64
}

// ratedKernels measures, once, each micro-kernel the CPU supports, running it on packed panels that
// stay in L1 (best of 48 short runs each, about five milliseconds in all). Peak speed per register
// tile differs between CPUs: AVX-512 doubles AVX2 where the core has 512-bit FMA units and
// matches it where it splits them in two.
var ratedKernels = sync.OnceValue(func() []rated {
	const k, calls, rounds = 128, 32, 48
	ks := kernels()
	type panels struct{ a, b, c []float32 }
	bufs := make([]panels, len(ks))
	for i, kern := range ks {
		bufs[i] = panels{make([]float32, kern.mr*k), make([]float32, kern.nr*k), make([]float32, kern.mr*kern.nr)}
	}
	runs := make([]func(), len(ks))
	for i, kern := range ks {
		p := bufs[i]
		runs[i] = func() {
			for j := 0; j < calls; j++ {
				kern.fn(k, &p.a[0], &p.b[0], kern.nr, &p.c[0], kern.nr, true)
			}
		}
	}
	best := bestTimes(rounds, runs...)
	out := make([]rated, len(ks))
	for i, kern := range ks {
		out[i] = rated{kern, 2 * float64(kern.mr*kern.nr*k*calls) / best[i].Seconds() / 1e9}
	}
	return out
})

// bestTimes runs each of runs once per round, in turn (so that a busy moment hits all of them),
// after one warming round, and returns each one's fastest time.
func bestTimes(rounds int, runs ...func()) []time.Duration {
	best := make([]time.Duration, len(runs))
	for r := -1; r < rounds; r++ {
		for i, run := range runs {
			t0 := time.Now()
			run()
			if d := max(time.Since(t0), time.Nanosecond); r == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	return best
}

// kernelFor picks the micro-kernel that should finish an m×n product first: the one whose padded
// tile area, roundUp(m, mr)·roundUp(n, nr), divided by its speed is least (with bf, for the
// convolutions' products with bfloat16 on: the 8x48 kernel at its bfloat16 twin's speed). A 6x16 tile wastes
// nothing on n = 64 where an 8x48 tile computes 96 columns.
//
// The choice must not depend on the noise in ratedKernels' timing (on a busy machine it differs
// by several percent from run to run, and a product would switch kernels from one process to the
// next): speeds within kernelSpeedTie of the fastest count as equal, and a later (smaller)
// kernel must save more than kernelAreaGain of the work to be chosen.
func kernelFor(m, n int, bf bool) *kernel {
	rs := ratedKernels()
	gflops := func(r rated) float64 {
		if bf && r.kernel == avx512Kernel {
			return 2 * r.gflops // its bfloat16 twin (see gemmPacked) does two multiply-adds an FMA
		}
		return r.gflops
	}
	fastest := 0.0
	for _, r := range rs {
		fastest = max(fastest, gflops(r))
	}
	var best *kernel
	var bestCost float64
	for _, r := range rs {
		speed := snapSpeed(gflops(r) / fastest)
		cost := float64(roundUp(m, r.mr)) * float64(roundUp(n, r.nr)) / speed
		if best == nil || cost < bestCost*(1-kernelAreaGain) {
			best, bestCost = r.kernel, cost
		}
	}
	return best
}

// snapSpeed rounds a kernel's speed relative to the fastest one's: within kernelSpeedTie it is
// 1, below to the nearest power of two (1/2: the AVX2 kernel beside AVX-512 on a core with
// 512-bit FMA units, measured 0.51–0.62 from one process to the next on a busy Sapphire Rapids).
// Unsnapped, such a ratio decided, by its noise, between the kernels for products where their
// padded areas trade at about 2:1 (conv1's weight gradient, 8×9, pads to 8×48 or 12×16), so two
// processes computed different roundings of the same product: a data-parallel job did not
// reproduce one process, nor one run the next.
func snapSpeed(rel float64) float64 {
	if rel >= kernelSpeedTie {
		return 1
	}
	return math.Exp2(math.Round(math.Log2(rel)))
}

// kernelSpeedTie and kernelAreaGain make kernelFor's choice stable (see there). Here (an AMD
// EPYC) the AVX-512 8x48 and AVX2 6x16 kernels run at 112-117 GFLOP/s in cache, and the 8x48 one
// is the faster on the convolutions' products (fewer loads per multiply-add).
const (
	kernelSpeedTie = 0.8
	kernelAreaGain = 0.1
)

// KernelNames lists the micro-kernels this machine can run, fastest first, with their speeds.
func KernelNames() string {
	var names []string
	for _, r := range ratedKernels() {
		names = append(names, fmt.Sprintf("%s at %.0f GFLOP/s", r.name, r.gflops))
	}
	return strings.Join(names, ", ")
}

// parallelFlops is the size m·n·k below which a product runs on the calling goroutine alone.
const parallelFlops = 48 * 48 * 48

// minTaskCols is the fewest columns of C a task covers when B's columns are split among tasks, so
// that the cost of packing the task's A block stays small next to its arithmetic.
const minTaskCols = 192

// gemm computes C = alpha·op(A)·op(B) + beta·C with kernel kern on up to workers goroutines
// (bfloat16 products with bf16, see gemmPacked). The arguments must already have been checked.
func gemm(kern *kernel, bf16 bool, workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmPacked(kern, bf16, workers, transA, m, n, k, alpha, a, lda, func(dst []float32, nr, p0, j0, kb, cols int) {
		packBPanel(dst, nr, transB, b, ldb, p0, j0, kb, cols)
	}, beta, c, ldc, nil)
}

// gemmPacked is gemm with op(B)'s nr-column panels written by packB (see PackB) instead of
// copied from a matrix.
//
// With pa not nil, op(A) comes already packed from pa (a and lda are unused). With bf16 and the
// 8x48 kernel, the products are bfloat16 ones (see bf16.go).
func gemmPacked(kern *kernel, bf16 bool, workers int, transA bool, m, n, k int, alpha float32, a []float32, lda int, packB PackB, beta float32, c []float32, ldc int, pa *PackedA) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		ScaleC(m, n, beta, c, ldc)
		return
	}
	if m*n*k < parallelFlops {
		workers = 1
	}
	mr, nr := kern.mr, kern.nr
	kcMax := min(kern.kc, k)
	ncMax := min(kern.nc, roundUp(n, nr))
	mcMax := min(kern.mc, roundUp(m, mr))
	packedB := getBuf(kcMax * ncMax)
	defer putBuf(packedB)
	// With bfloat16 products on, the 8x48 kernel's packed blocks are converted to the pair
	// layout (see bf16.go) as they are packed, and its bfloat16 twin multiplies them.
	bf := kern == avx512Kernel && bf16 && hasBF16
	var packedBF *[]float32
	if bf {
		packedBF = getBuf((kcMax + 1) / 2 * ncMax)
		defer putBuf(packedBF)
	}
	scratch := make([]*workerBufs, workers)
	defer func() {
		for _, s := range scratch {
			if s != nil {
				putBuf(s.a)
				putBuf(s.tile)
				if s.bf != nil {
					putBuf(s.bf)
				}
			}
		}
	}()
	mBlocks := (m + kern.mc - 1) / kern.mc
	for jc := 0; jc < n; jc += kern.nc {
		nb := min(kern.nc, n-jc)
		panels := (nb + nr - 1) / nr
		// Split B's columns only when A's row blocks are too few to keep every worker busy.
		nChunks := 1
		if mBlocks < 2*workers {
			nChunks = max(1, min((2*workers+mBlocks-1)/mBlocks, nb/minTaskCols))
		}
		for pc := 0; pc < k; pc += kern.kc {
			kb := min(kern.kc, k-pc)
			bp := (*packedB)[:kb*panels*nr]
			kbp := (kb + 1) / 2
			var bpf []uint32
			if bf {
				bpf = Words((*packedBF)[:kbp*panels*nr])
			}
			runTasks(workers, panels, func(_, s int) {
				j := s * nr
				packB(bp[j*kb:(j+nr)*kb], nr, pc, jc+j, kb, min(nr, nb-j))
				if bf {
					PairRows(bp[j*kb:(j+nr)*kb], nr, nr, kb, bpf[j*kbp:(j+nr)*kbp], nr)
				}
			})
			// The first k block overwrites C when beta is 0; otherwise C is scaled by beta first
			// (unless beta is 1) and every k block adds to it.
			load := pc > 0 || beta != 0
			runTasks(workers, mBlocks*nChunks, func(w, t int) {
				ws := scratch[w]
				if ws == nil {
					ws = &workerBufs{a: getBuf(mcMax * kcMax), tile: getBuf(mr * nr)}
					if bf {
						ws.bf = getBuf(mcMax * (kcMax + 1) / 2)
					}
					scratch[w] = ws
				}
				ic := t / nChunks * kern.mc
				mb := min(kern.mc, m-ic)
				chunk := t % nChunks
				p0, p1 := panels*chunk/nChunks, panels*(chunk+1)/nChunks
				j0, j1 := p0*nr, min(p1*nr, nb)
				if pc == 0 && beta != 0 {
					ScaleC(mb, j1-j0, beta, c[(ic*ldc)+jc+j0:], ldc)
				}
				ap := *ws.a
				if pa != nil {
					ap = pa.block(ic, pc, mb, kb)
				} else {
					packA(ap, mr, transA, alpha, a, lda, ic, pc, mb, kb)
				}
				if bf {
					apf := Words(*ws.bf)
					for ir := 0; ir < mb; ir += mr {
						PairPanel(ap[ir*kb:], kb, apf[ir*kbp:])
					}
					macroKernelBF16(mb, j0, j1, kbp, apf, bpf, c[ic*ldc+jc:], ldc, *ws.tile, load)
					return
				}
				macroKernel(kern, mb, j0, j1, kb, ap, bp, c[ic*ldc+jc:], ldc, *ws.tile, load)
			})
		}
	}
}

// macroKernel runs the micro-kernel over every mr×nr tile of the C block that rows 0..mb and
// columns j0..j1 of c cover, with ap the packed A block and bp the packed B block. load says
// whether to add to C or overwrite it.
func macroKernel(kern *kernel, mb, j0, j1, kb int, ap, bp, c []float32, ldc int, tile []float32, load bool) {
	mr, nr := kern.mr, kern.nr
	tile = tile[:mr*nr]
	// A micro-panel (mr×kb, 8 KB for 8x48 at kb 256) stays in L1 across the row of tiles; the B
	// micro-panels (48 KB for 8x48, more than L1) stream from L2 either way. The other order
	// also re-read A from L2 for every tile (measured 2048³: 198-203 -> 209 GFLOP/s).
	for ir := 0; ir < mb; ir += mr {
		mm := min(mr, mb-ir)
		a := &ap[ir*kb]
		for jr := j0; jr < j1; jr += nr {
			nn := min(nr, j1-jr)
			b := &bp[jr*kb]
			ci := ir*ldc + jr
			if mm == mr && nn == nr {
				kern.fn(kb, a, b, nr, &c[ci], ldc, load)
				continue
			}
			// An edge tile: compute the full tile aside, then store the part that exists.
			kern.fn(kb, a, b, nr, &tile[0], nr, false)
			storeEdge(c[ci:], ldc, tile, nr, mm, nn, load)
		}
	}
}

// storeEdge writes (load: adds) the mm×nn corner of an edge tile computed aside (rows nr apart)
// to C.
func storeEdge(c []float32, ldc int, tile []float32, nr, mm, nn int, load bool) {
	for i := 0; i < mm; i++ {
		row := c[i*ldc : i*ldc+nn]
		t := tile[i*nr : i*nr+nn]
		if !load {
			copy(row, t)
			continue
		}
		for j, v := range t {
			row[j] += v
		}
	}
}

// runTasks calls fn(w, i) for every i in [0, n), on up to workers goroutines that take the next
// i from a shared counter; w in [0, workers) names the goroutine, for per-goroutine scratch.
func runTasks(workers, n int, fn func(w, i int)) {
	workers = min(workers, n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	work := func(w int) {
		for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
			fn(w, i)
		}
	}
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		go func() {
			defer wg.Done()
			work(w)
		}()
	}
	work(0)
	wg.Wait()
}

// workerBufs is one goroutine's scratch: its packed A block, an edge tile, and the A block in
// the bfloat16 pair layout when those products are on.
type workerBufs struct{ a, tile, bf *[]float32 }

// bufPools recycles packing buffers by power-of-two size class, so that a buffer taken from a
// class always fits (one pool of mixed sizes kept handing out buffers too small for the request,
// which were then thrown away and allocated afresh: hundreds of MB per training step).
var bufPools [48]sync.Pool

// getBuf returns a pooled buffer of at least n floats (contents undefined), resliced to n.
func getBuf(n int) *[]float32 {
	class := bits.Len(uint(max(n, 1) - 1))
	if p, ok := bufPools[class].Get().(*[]float32); ok {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n, 1<<class)
	return &s
}

// putBuf returns a buffer from getBuf to its pool.
func putBuf(p *[]float32) {
	bufPools[bits.Len(uint(cap(*p))-1)].Put(p)
}

// ScaleC sets the m×n matrix C to beta·C, writing zeros when beta is 0 so that NaN or Inf
// already in C does not survive.
func ScaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }
