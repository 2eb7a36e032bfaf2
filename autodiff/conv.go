package autodiff

import (
	"fmt"
	"sync"

	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/internal/gemm"
	"github.com/contrastive-go/contrastive/internal/im2col"
	"github.com/contrastive-go/contrastive/internal/vec"
	"github.com/contrastive-go/contrastive/internal/winograd"
	"github.com/contrastive-go/contrastive/parallel"
)

// Conv2d is a 2-D convolution (cross-correlation, as in PyTorch's nn.Conv2d with dilation 1 and
// groups 1) of x [N,Cin,H,W] with weight w [Cout,Cin,kh,kw] and optional bias b [Cout] (nil for
// none), the same stride and zero padding pad in both directions:
//
//	out[n,o,y,x] = b[o] + Σ_{c,ky,kx} w[o,c,ky,kx] · x[n,c, y·stride−pad+ky, x·stride−pad+kx]
//
// (terms in the padding are 0), out [N,Cout,Ho,Wo] with Ho = ⌊(H+2·pad−kh)/stride⌋+1, likewise Wo.
//
// It is im2col + GEMM: the images are cut into chunks whose column matrix col [Cin·kh·kw, B·Ho·Wo]
// fits the cache, and each chunk computes W[Cout, Cin·kh·kw]·col. Gradients, with G = dS/dout
// laid out the same way:
//
//	dW += G·colᵀ,   dcol = Wᵀ·G then col2im into dx,   db[o] += Σ_{n,y,x} G[n,o,y,x].
//
// The products W·col and G·colᵀ never build col: gemm.GemmPackB asks for op(B) one packed panel
// at a time, and im2col.Im2colPanel / Im2colTPanel read those panels straight from a zero-padded
// copy of the chunk's images (implicit im2col). Only dcol, which col2im consumes, is
// materialised.
//
// 3×3 convolutions with stride 1 and padding 1 run Winograd F(2×2,3×3) instead (package
// winograd: 2.25× fewer multiplies in all three products) where it was measured faster; see
// useWinograd, and ConvEnvVar / SetConvAlgorithm to force either algorithm.
//
// dx is not computed when x needs no gradient (the first layer of a network). Invalid shapes,
// stride < 1, pad < 0 or a kernel larger than the padded input panic at once.
func Conv2d(x, w, b *Var, stride, pad int) *Var {
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 4 || len(ws) != 4 {
		panic(fmt.Sprintf("autodiff.Conv2d: x must be [N,Cin,H,W] and w [Cout,Cin,kh,kw], got x %v, w %v", xs, ws))
	}
	n, cin, h, wd := xs[0], xs[1], xs[2], xs[3]
	cout := ws[0]
	if ws[1] != cin {
		panic(fmt.Sprintf("autodiff.Conv2d: x %v has %d channels but w %v expects %d", xs, cin, ws, ws[1]))
	}
	if b != nil && (b.Value.Dims() != 1 || b.Shape()[0] != cout) {
		panic(fmt.Sprintf("autodiff.Conv2d: bias %v must be [%d] for w %v", b.Shape(), cout, ws))
	}
	if stride < 1 {
		panic(fmt.Sprintf("autodiff.Conv2d: stride %d < 1 (x %v, w %v)", stride, xs, ws))
	}
	if pad < 0 {
		panic(fmt.Sprintf("autodiff.Conv2d: padding %d < 0 (x %v, w %v)", pad, xs, ws))
	}
	if ws[2] > h+2*pad || ws[3] > wd+2*pad {
		panic(fmt.Sprintf("autodiff.Conv2d: kernel %dx%d larger than the padded input %dx%d (x %v, w %v, padding %d)",
			ws[2], ws[3], h+2*pad, wd+2*pad, xs, ws, pad))
	}
	g := im2col.NewConvGeom("autodiff.Conv2d", cin, h, wd, ws[2], ws[3], stride, pad)
	out := Node("Conv2d", false, []int{n, cout, g.Ho, g.Wo}, x, w, b)
	if useWinograd(cin, cout, h, wd, ws[2], ws[3], stride, pad) {
		conv2dWinograd(winograd.Shape{N: n, Cin: cin, Cout: cout, H: h, W: wd}, x, w, b, out)
		return out
	}
	pl := newConvPlan(g, n, cout)
	var bias []float32
	if b != nil {
		bias = b.Data()
	}
	pl.forward(x.Data(), w.Data(), bias, out.Data())
	if out.requiresGrad {
		out.backward = func() {
			gy := out.Grad.Data
			if b != nil && b.requiresGrad {
				pl.biasGrad(gy, b.GradBuf())
			}
			var gx, gw []float32
			fresh := false
			if x.requiresGrad {
				gx, fresh = x.GradFresh()
			}
			if w.requiresGrad {
				gw = w.GradBuf()
			}
			if gx != nil || gw != nil {
				pl.backward(x.Data(), w.Data(), gy, gx, gw, fresh)
			}
		}
	}
	return out
}

// conv2dWinograd is Conv2d of a 3×3 stride-1 padding-1 convolution by Winograd F(2×2,3×3)
// (package winograd) in all three products: out, dX and dW.
func conv2dWinograd(s winograd.Shape, x, w, b, out *Var) {
	var bias []float32
	if b != nil {
		bias = b.Data()
	}
	winograd.Forward(s, x.Data(), w.Data(), bias, out.Data())
	if !out.requiresGrad {
		return
	}
	out.backward = func() {
		gy := out.Grad.Data
		if b != nil && b.requiresGrad {
			biasGradNCHW(gy, s.N, s.Cout, s.H*s.W, b.GradBuf())
		}
		if w.requiresGrad {
			winograd.WeightGrad(s, x.Data(), gy, w.GradBuf())
		}
		if x.requiresGrad {
			if gx, fresh := x.GradFresh(); fresh {
				winograd.InputGradSet(s, gy, w.Data(), gx) // no clearing, no reading back
			} else {
				winograd.InputGrad(s, gy, w.Data(), gx)
			}
		}
	}
}

// Tuning of the convolution driver (variables so that tests can exercise every path).
var (
	// convChunkFloats is the target size, in float32s, of one chunk's column matrix.
	convChunkFloats = 1 << 18
	// convMinCols is the fewest columns (images · positions) an implicit-im2col chunk takes.
	convMinCols = 384
	// convWorkers selects the driver: true (the default) runs whole chunks (im2col, GEMM,
	// scatter) on parallel workers (see convPlan.run), each with a single-threaded GEMM (blas.SgemmSerial), so
	// a chunk's column matrix is used while it is still in the core's cache and no core waits
	// on another; false runs the chunks one after the other with the elementwise steps parallel
	// and each GEMM split over the cores by blas.Sgemm.
	convWorkers = true
	// convImplicit selects implicit im2col (gemm.GemmPackB fed by im2col.Im2colPanel and
	// Im2colTPanel, always on the pure-Go micro-kernels) for W·col and G·colᵀ; false builds
	// col with im2col.Im2col and multiplies with the default backend.
	convImplicit = true
)

// ntMaxRows is the most column-matrix rows (Cin·kh·kw) for which the weight gradient of an
// explicit-im2col convolution (one or two input channels) runs as dot products of G's and col's
// rows (gemm.MulNT) rather than a GEMM, which would pack all of G for a product only k wide: the
// reference model's conv1 (1 → 32 channels, 512 images of 28×28) forward+backward 16.8 → 8-11
// ms, the CIFAR stem (1 → 64, 128 images) 10.2 → 7.0 ms (Intel Xeon, 2 threads). Its sums run
// in 16 lanes, so dW's bits differ from the GEMM's (checked against float64 as every product),
// and in float32 with --precision bf16 too.
const ntMaxRows = 18

// convPlan is the work split of one convolution.
type convPlan struct {
	g           im2col.ConvGeom
	n, cout     int
	k, p        int // rows (Cin·kh·kw) and columns (Ho·Wo) of one image's column matrix
	chunk       int // images per chunk
	chunks      int
	workers     bool
	implicit    bool
	inSz, outSz int // floats per image of x and of out
	gemm        func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	gemmThreads int // goroutines for one gemm.GemmPackB: 1 inside a worker
}

func newConvPlan(g im2col.ConvGeom, n, cout int) *convPlan {
	pl := &convPlan{g: g, n: n, cout: cout, k: g.Rows(), p: g.Cols(), workers: convWorkers}
	// With few channels the panel packers' per-call tables are not amortised (conv1 of the
	// reference model, Cin = 1, measured 1.6x slower implicit), and explicit im2col of a
	// single-channel image is cheap anyway. RGB (the ImageNet stem's 7×7 stride 2 on 96×96
	// photos) gains from implicit: the photo SimCLR step's CPU 18.4 -> 18.0 s, 3 alternating runs.
	pl.implicit = convImplicit && g.C >= 3
	pl.inSz = g.C * g.H * g.W
	pl.outSz = cout * pl.p
	pl.chunk = max(1, convChunkFloats/max(1, pl.k*pl.p))
	if pl.implicit {
		// Deep layers (many channels, few positions: ResNet's 7×7 and 4×4 stages) would get
		// chunks of 1–3 images by the column-matrix budget, which the implicit product never
		// builds: the products are then too narrow for the micro-kernels' 48-wide tiles and
		// repack all of W for a few columns. Take at least convMinCols columns.
		pl.chunk = max(pl.chunk, (convMinCols+pl.p-1)/pl.p)
	}
	if pl.p >= 256 && pl.p >= 4*cout {
		// Wide images (conv1 of the reference model: 784 positions, 32 channels) make a
		// one-image product wide enough for the micro-kernels, and a one-image chunk writes
		// its output, and reads its output gradient, in place: no copy between NCHW and
		// [Cout, images·positions] (measured: those copies were half of conv1's time).
		pl.chunk = 1
	}
	if pl.workers {
		// Enough chunks to keep every worker busy.
		pl.chunk = min(pl.chunk, (n+parallel.Workers()-1)/parallel.Workers())
	}
	pl.chunk = max(1, min(pl.chunk, n))
	pl.gemm, pl.gemmThreads = blas.Sgemm, parallel.Workers()
	if pl.workers {
		pl.gemm, pl.gemmThreads = blas.SgemmSerial, 1
	}
	if gemm.BF16() {
		// bfloat16 products (opt-in): on the pure-Go kernels whatever the default backend.
		threads := pl.gemmThreads
		pl.gemm = func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			gemm.SgemmBF16(threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}
	}
	pl.chunks = (n + pl.chunk - 1) / pl.chunk
	return pl
}

// convScratch is one worker's reusable buffers.
type convScratch struct {
	col, tmp, xp []float32
}

var convScratchPool = sync.Pool{New: func() any { return new(convScratch) }}

func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// convGroups is how many groups of consecutive chunks the weight gradient is accumulated in:
// each group sums its chunks in order into its own buffer and the groups are added in order at
// the end, so dW is the same, bit for bit, whichever worker ran which group and however many
// workers there were.
const convGroups = 8

// run calls fn(n0, n1, s, grp) on every chunk [n0, n1) with scratch buffers s, the chunks split
// into groups consecutive groups (grp is the chunk's group), each group's chunks in order. In
// workers mode the groups are taken from a shared counter (parallel.Dynamic: a core slowed by
// another process takes fewer, instead of holding the others up); otherwise the calling goroutine
// runs them all.
func (pl *convPlan) run(groups int, fn func(n0, n1 int, s *convScratch, grp int)) {
	groups = max(1, min(groups, pl.chunks))
	body := func(lo, hi int) {
		s := convScratchPool.Get().(*convScratch)
		for grp := lo; grp < hi; grp++ {
			for c := grp * pl.chunks / groups; c < (grp+1)*pl.chunks/groups; c++ {
				fn(c*pl.chunk, min((c+1)*pl.chunk, pl.n), s, grp)
			}
		}
		convScratchPool.Put(s)
	}
	if !pl.workers {
		body(0, groups)
		return
	}
	parallel.Dynamic(groups, 1, body)
}

// each runs fn(i) for i in [0, n): in parallel in phases mode, serially inside a worker.
func (pl *convPlan) each(n int, fn func(i int)) {
	if pl.workers || n == 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	parallel.For(n, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			fn(i)
		}
	})
}

// im2col builds the column matrix [K, nb·P] of images n0..n0+nb in the worker's scratch.
func (pl *convPlan) im2col(x []float32, n0, nb int, s *convScratch) []float32 {
	ld := nb * pl.p
	s.col = grow(s.col, pl.k*ld)
	col := s.col
	pl.each(nb, func(b int) { im2col.Im2col(pl.g, x[(n0+b)*pl.inSz:(n0+b+1)*pl.inSz], col[b*pl.p:], ld) })
	return col
}

// pad writes the zero-padded copy of images n0..n0+nb that the implicit-im2col panels read
// (im2col.PadImages) into the worker's scratch. Without padding (the 1×1 downsamples) that copy
// would be the images themselves, which it returns instead.
func (pl *convPlan) pad(x []float32, n0, nb int, s *convScratch) []float32 {
	if pl.g.Pad == 0 {
		return x[n0*pl.inSz : (n0+nb)*pl.inSz]
	}
	s.xp = grow(s.xp, pl.g.PaddedLen(nb))
	im2col.PadImages(pl.g, x[n0*pl.inSz:(n0+nb)*pl.inSz], nb, s.xp)
	return s.xp
}

// forward computes out = conv(x, w) + bias.
func (pl *convPlan) forward(x, w, bias, out []float32) {
	g, k, p, cout := pl.g, pl.k, pl.p, pl.cout
	var pa *gemm.PackedA
	if pl.implicit && pl.chunks > 1 {
		pa = gemm.NewPackedA(false, cout, k, 1, w, k, pl.chunk*p) // W packed once for every chunk
		defer pa.Release()
	}
	pl.run(pl.chunks, func(n0, n1 int, s *convScratch, _ int) {
		nb := n1 - n0
		ld := nb * p
		// C is the image's own output when the chunk is one image, else [Cout, nb·P] to scatter.
		c := out[n0*pl.outSz : n1*pl.outSz]
		if nb > 1 {
			s.tmp = grow(s.tmp, cout*ld)
			c = s.tmp
		}
		if pl.implicit {
			xp := pl.pad(x, n0, nb, s)
			panel := func(dst []float32, nr, p0, j0, kb, cols int) {
				im2col.Im2colPanel(g, xp, dst, nr, p0, j0, kb, cols)
			}
			if pa != nil {
				gemm.GemmPackedA(pa, ld, panel, 0, c, ld, pl.gemmThreads)
			} else {
				gemm.GemmPackB(false, cout, ld, k, 1, w, k, panel, 0, c, ld, pl.gemmThreads)
			}
		} else {
			col := pl.im2col(x, n0, nb, s)
			pl.gemm(false, false, cout, ld, k, 1, w, k, col, ld, 0, c, ld)
		}
		if nb == 1 {
			if bias != nil {
				for o := 0; o < cout; o++ {
					addConst(c[o*p:(o+1)*p], bias[o])
				}
			}
			return
		}
		pl.each(nb, func(b int) {
			o := out[(n0+b)*pl.outSz : (n0+b+1)*pl.outSz]
			for ch := 0; ch < cout; ch++ {
				dst := o[ch*p : (ch+1)*p]
				copy(dst, c[ch*ld+b*p:ch*ld+b*p+p])
				if bias != nil {
					addConst(dst, bias[ch])
				}
			}
		})
	})
}

// backward accumulates dW into gw and dx into gx (either may be nil) from gy = dS/dout; with
// gxFresh, gx's contents do not count and dx is written into it (im2col.Col2imSet: a fresh
// gradient is neither cleared first nor read back).
func (pl *convPlan) backward(x, w, gy, gx, gw []float32, gxFresh bool) {
	g, k, p, cout := pl.g, pl.k, pl.p, pl.cout
	groups := pl.chunks // dX alone: every chunk on its own
	var dws []*[]float32
	if gw != nil {
		groups = convGroups
		if pl.workers && min(groups, pl.chunks) > 1 {
			// One dW buffer per group, added to gw in group order at the end.
			dws = make([]*[]float32, min(groups, pl.chunks))
			for i := range dws {
				dws[i] = getDW(cout * k)
			}
		}
	}
	var paT *gemm.PackedA
	if gx != nil && pl.chunks > 1 {
		// Wᵀ packed once for every chunk's dcol = Wᵀ·G (on the pure-Go kernels, whatever the
		// default backend: OpenBLAS would repack it for each chunk).
		paT = gemm.NewPackedA(true, k, cout, 1, w, k, pl.chunk*p)
		defer paT.Release()
	}
	pl.run(groups, func(n0, n1 int, s *convScratch, grp int) {
		nb := n1 - n0
		ld := nb * p
		gsrc := gy[n0*pl.outSz:]
		if nb > 1 { // gather G [Cout, nb·P] from NCHW
			s.tmp = grow(s.tmp, cout*ld)
			tmp := s.tmp
			pl.each(nb, func(b int) {
				src := gy[(n0+b)*pl.outSz : (n0+b+1)*pl.outSz]
				for c := 0; c < cout; c++ {
					copy(tmp[c*ld+b*p:c*ld+b*p+p], src[c*p:(c+1)*p])
				}
			})
			gsrc = tmp
		}
		if gw != nil {
			dw := gw
			if dws != nil {
				dw = *dws[grp]
			}
			if pl.implicit {
				xp := pl.pad(x, n0, nb, s)
				gemm.GemmPackB(false, cout, k, ld, 1, gsrc, ld, func(dst []float32, nr, p0, j0, kb, cols int) {
					im2col.Im2colTPanel(g, xp, dst, nr, p0, j0, kb, cols)
				}, 1, dw, k, pl.gemmThreads)
			} else if col := pl.im2col(x, n0, nb, s); k <= ntMaxRows && pl.gemmThreads == 1 && gemm.HasNT() {
				gemm.MulNT(cout, k, ld, gsrc, ld, col, ld, dw, k)
			} else {
				pl.gemm(false, true, cout, k, ld, 1, gsrc, ld, col, ld, 1, dw, k)
			}
		}
		if gx != nil {
			s.col = grow(s.col, k*ld)
			col := s.col
			if paT != nil {
				gemm.GemmPackedA(paT, ld, gemm.MatrixB(false, gsrc, ld), 0, col, ld, pl.gemmThreads)
			} else {
				pl.gemm(true, false, k, ld, cout, 1, w, k, gsrc, ld, 0, col, ld)
			}
			col2im := im2col.Col2im
			if gxFresh {
				col2im = im2col.Col2imSet
			}
			pl.each(nb, func(b int) { col2im(g, col[b*p:], ld, gx[(n0+b)*pl.inSz:(n0+b+1)*pl.inSz]) })
		}
	})
	for _, d := range dws {
		addTo(gw, *d)
		dwPool.Put(d)
	}
}

// dwPool recycles the per-group weight-gradient buffers of convPlan.backward.
var dwPool sync.Pool

// getDW returns a zeroed buffer of n floats from dwPool.
func getDW(n int) *[]float32 {
	p, _ := dwPool.Get().(*[]float32)
	if p == nil || cap(*p) < n {
		b := make([]float32, n)
		return &b
	}
	*p = (*p)[:n]
	clear(*p)
	return p
}

// biasGrad accumulates db[o] += Σ_{n,y,x} gy[n,o,y,x].
func (pl *convPlan) biasGrad(gy, gb []float32) { biasGradNCHW(gy, pl.n, pl.cout, pl.p, gb) }

// biasGradNCHW accumulates db[o] += Σ_{n,p} gy[n,o,p] for gy [n, cout, p].
func biasGradNCHW(gy []float32, n, cout, p int, gb []float32) {
	outSz := cout * p
	parallel.For(cout, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			var s float64
			for i := 0; i < n; i++ {
				s += float64(vec.Sum(gy[i*outSz+c*p : i*outSz+(c+1)*p]))
			}
			gb[c] += float32(s)
		}
	})
}

// addConst adds v to every element of d.
func addConst(d []float32, v float32) {
	for i := range d {
		d[i] += v
	}
}

// addTo adds src to dst elementwise.
func addTo(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] += v
	}
}
