package winograd

import (
	"fmt"
	"sync"

	"github.com/contrastive-go/contrastive/internal/gemm"
	"github.com/contrastive-go/contrastive/parallel"
)

// Applicable reports whether a convolution with a kh×kw kernel, this stride and padding (dilation
// 1, one group) is one this package computes: 3×3, stride 1, padding 1.
func Applicable(kh, kw, stride, pad int) bool { return kh == 3 && kw == 3 && stride == 1 && pad == 1 }

// Shape is one convolution: N images of Cin×H×W to N of Cout×H×W.
type Shape struct{ N, Cin, Cout, H, W int }

func (s Shape) check(op string, x, w, y []float32) {
	if s.N < 1 || s.Cin < 1 || s.Cout < 1 || s.H < 1 || s.W < 1 {
		panic(fmt.Sprintf("winograd.%s: invalid shape %+v", op, s))
	}
	if len(x) < s.N*s.Cin*s.H*s.W || len(w) < s.Cout*s.Cin*9 || len(y) < s.N*s.Cout*s.H*s.W {
		panic(fmt.Sprintf("winograd.%s: %+v needs %d input, %d weight and %d output values, got %d, %d, %d",
			op, s, s.N*s.Cin*s.H*s.W, s.Cout*s.Cin*9, s.N*s.Cout*s.H*s.W, len(x), len(w), len(y)))
	}
}

// Tuning (variables so that tests can exercise every path).
var (
	// ChunkCols is the fewest tiles (images · tiles per image) a forward or input-gradient chunk
	// takes: the width of its 16 products.
	ChunkCols = 256
	// GradChunkFloats bounds a weight-gradient chunk's transformed input and output gradient,
	// 16·(Cin+Cout)·tiles floats.
	GradChunkFloats = 1 << 22
)

// Forward computes y = conv(x, w) + bias for x [N,Cin,H,W], w [Cout,Cin,3,3], bias [Cout] (nil
// for none), y [N,Cout,H,W] (overwritten), stride 1 and padding 1.
func Forward(s Shape, x, w, bias, y []float32) {
	s.check("Forward", x, w, y)
	u := getBuf(xis * s.Cout * s.Cin)
	defer putBuf(u)
	if Fast(s.Cin, s.Cout) {
		packedFilters(w, s.Cout, s.Cin, false, *u)
		productsFast(s.N, s.Cin, s.Cout, NewGeom(s.H, s.W), x, *u, bias, y, false)
		return
	}
	FilterTransform(w, s.Cout, s.Cin, *u)
	products(s.N, s.Cin, s.Cout, NewGeom(s.H, s.W), x, *u, bias, y, false)
}

// InputGrad adds dX, the gradient with respect to x of a Forward with output gradient dy
// [N,Cout,H,W], to dx [N,Cin,H,W]: the convolution of dy with the rotated, channel-swapped
// filters (see FilterTransformInputGrad).
func InputGrad(s Shape, dy, w, dx []float32) { inputGrad(s, dy, w, dx, true) }

// InputGradSet is InputGrad writing dX to dx instead of adding it (dx's contents are ignored):
// for a gradient buffer that nothing has written yet, which then needs no clearing.
func InputGradSet(s Shape, dy, w, dx []float32) { inputGrad(s, dy, w, dx, false) }

func inputGrad(s Shape, dy, w, dx []float32, accumulate bool) {
	s.check("InputGrad", dx, w, dy)
	u := getBuf(xis * s.Cout * s.Cin)
	defer putBuf(u)
	if Fast(s.Cin, s.Cout) {
		packedFilters(w, s.Cout, s.Cin, true, *u)
		productsFast(s.N, s.Cout, s.Cin, NewGeom(s.H, s.W), dy, *u, nil, dx, accumulate)
		return
	}
	FilterTransformInputGrad(w, s.Cout, s.Cin, *u)
	products(s.N, s.Cout, s.Cin, NewGeom(s.H, s.W), dy, *u, nil, dx, accumulate)
}

// products runs the forward algorithm for n images of cin planes to cout planes with the
// transformed filters u (16 matrices [cout×cin]): chunks of images, each transformed (V), the
// 16 products M_ξ = U_ξ·V_ξ, and the output transform into y (added to y with accumulate).
// The chunks run on parallel workers, each with single-threaded products, so that a chunk's V
// and M stay in its core's cache.
func products(n, cin, cout int, g Geom, x, u, bias, y []float32, accumulate bool) {
	tiles := g.Tiles()
	workers := parallel.Workers()
	nb := max(1, min((ChunkCols+tiles-1)/tiles, (n+workers-1)/workers))
	chunks := (n + nb - 1) / nb
	gemmThreads := 1
	if chunks < workers {
		gemmThreads = workers
	}
	pas := make([]*gemm.PackedA, xis)
	for xi := range pas {
		pas[xi] = gemm.NewPackedA(false, cout, cin, 1, u[xi*cout*cin:(xi+1)*cout*cin], cin, nb*tiles)
	}
	defer func() {
		for _, pa := range pas {
			pa.Release()
		}
	}()
	inSz, outSz := cin*g.H*g.W, cout*g.H*g.W
	parallel.Dynamic(chunks, 1, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			n0, n1 := ch*nb, min((ch+1)*nb, n)
			tc := (n1 - n0) * tiles
			v, m, pad := getBuf(xis*cin*tc), getBuf(xis*cout*tc), getBuf(g.PadLen())
			for b := n0; b < n1; b++ {
				for c := 0; c < cin; c++ {
					InputPlane(g, x[b*inSz+c*g.H*g.W:], (*v)[c*tc+(b-n0)*tiles:], cin*tc, *pad)
				}
			}
			for xi := 0; xi < xis; xi++ {
				gemm.GemmPackedA(pas[xi], tc, gemm.MatrixB(false, (*v)[xi*cin*tc:(xi+1)*cin*tc], tc), 0, (*m)[xi*cout*tc:(xi+1)*cout*tc], tc, gemmThreads)
			}
			for b := n0; b < n1; b++ {
				for o := 0; o < cout; o++ {
					var bo float32
					if bias != nil {
						bo = bias[o]
					}
					OutputPlane(g, (*m)[o*tc+(b-n0)*tiles:], cout*tc, y[b*outSz+o*g.H*g.W:], bo, accumulate)
				}
			}
			putBuf(v)
			putBuf(m)
			putBuf(pad)
		}
	})
}

// WeightGrad adds dW, the gradient with respect to w of a Forward of x with output gradient dy,
// to dw [Cout,Cin,3,3]. The chunks of images run one after the other, each transformed on all
// cores and its 16 products dU_ξ += Z_ξ·V_ξᵀ spread over the cores by ξ: each dU_ξ is summed
// over the chunks in order, so dW is the same, bit for bit, whatever the number of cores.
func WeightGrad(s Shape, x, dy, dw []float32) {
	s.check("WeightGrad", x, dw, dy)
	if Fast(s.Cin, s.Cout) {
		weightGradFast(s, x, dy, dw)
		return
	}
	g := NewGeom(s.H, s.W)
	tiles := g.Tiles()
	cin, cout := s.Cin, s.Cout
	nb := max(1, min(s.N, GradChunkFloats/(xis*(cin+cout)*tiles)))
	du := getBuf(xis * cout * cin)
	defer putBuf(du)
	clear(*du)
	v, z := getBuf(xis*cin*nb*tiles), getBuf(xis*cout*nb*tiles)
	defer putBuf(v)
	defer putBuf(z)
	inSz, outSz, hw := cin*g.H*g.W, cout*g.H*g.W, g.H*g.W
	for n0 := 0; n0 < s.N; n0 += nb {
		n1 := min(n0+nb, s.N)
		tc := (n1 - n0) * tiles
		planes := (n1 - n0) * (cin + cout)
		parallel.Dynamic(planes, max(1, planes/(8*parallel.Workers())), func(lo, hi int) {
			pad := getBuf(g.PadLen())
			for p := lo; p < hi; p++ {
				if p < (n1-n0)*cin {
					b, c := p/cin, p%cin
					InputPlane(g, x[(n0+b)*inSz+c*hw:], (*v)[c*tc+b*tiles:], cin*tc, *pad)
					continue
				}
				q := p - (n1-n0)*cin
				b, o := q/cout, q%cout
				GradPlane(g, dy[(n0+b)*outSz+o*hw:], (*z)[o*tc+b*tiles:], cout*tc)
			}
			putBuf(pad)
		})
		parallel.Dynamic(xis, 1, func(lo, hi int) {
			for xi := lo; xi < hi; xi++ {
				gemm.GemmPackB(false, cout, cin, tc, 1, (*z)[xi*cout*tc:(xi+1)*cout*tc], tc,
					gemm.MatrixB(true, (*v)[xi*cin*tc:(xi+1)*cin*tc], tc), 1, (*du)[xi*cout*cin:(xi+1)*cout*cin], cin, 1)
			}
		})
	}
	plane := cout * cin
	parallel.For(plane, 256, func(lo, hi int) { filterGrad(*du, plane, lo, hi, dw) })
}

// The scratch buffers (transformed filters, blocks, dU groups: up to tens of MB for ResNet's deep
// layers) are kept between convolutions in free lists by exact length, up to maxKeptFloats in
// all: a training step asks for the same lengths every time. A sync.Pool would lose them at
// every garbage collection, and a training step, which allocates a lot, collects often: the
// buffers were then allocated afresh, zeroed and faulted in (measured 10% of a ResNet-18 step).
// Power-of-two size classes kept up to twice the memory (ResNet's 512-channel dU groups: 3 × 32
// MB for 3 × 17).
const maxKeptFloats = 1 << 26

var scratch struct {
	sync.Mutex
	free map[int][]*[]float32
	kept int
}

// getBuf returns a buffer of n floats (contents undefined).
func getBuf(n int) *[]float32 {
	scratch.Lock()
	if l := scratch.free[n]; len(l) > 0 {
		p := l[len(l)-1]
		scratch.free[n] = l[:len(l)-1]
		scratch.kept -= n
		scratch.Unlock()
		return p
	}
	scratch.Unlock()
	s := make([]float32, n)
	return &s
}

// putBuf returns a buffer from getBuf to the free lists (or to the garbage collector when they
// hold maxKeptFloats already).
func putBuf(p *[]float32) {
	n := len(*p)
	scratch.Lock()
	if scratch.kept+n <= maxKeptFloats {
		if scratch.free == nil {
			scratch.free = make(map[int][]*[]float32)
		}
		scratch.free[n] = append(scratch.free[n], p)
		scratch.kept += n
	}
	scratch.Unlock()
}
