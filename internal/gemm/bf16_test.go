package gemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

func skipNoBF16(t *testing.T) {
	t.Helper()
	if !HasBF16() {
		t.Skip("no AVX512_BF16 on this CPU: the bfloat16 kernels do not run here")
	}
}

// bf16Specials are values whose rounding is easy to get wrong: ties to even both ways, the
// largest finite values, infinities, NaNs, subnormals (to zero), signed zeros.
var bf16Specials = []uint32{
	0x3f808000, 0x3f818000, 0x3f807fff, 0x3f808001, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000,
	0x7fc00000, 0x7f800001, 0xffc12345, 0x00000001, 0x807fffff, 0x00400000, 0x00000000, 0x80000000,
	0x00800000, 0x3effff80, 0x477fe000, 0xc0490fdb,
}

func TestRoundBF16(t *testing.T) {
	for _, c := range []struct{ in, want uint32 }{
		{0x3f808000, 0x3f800000}, // tie, even below
		{0x3f818000, 0x3f820000}, // tie, even above
		{0x3f808001, 0x3f810000},
		{0x7f7fffff, 0x7f800000}, // rounds up to infinity
		{0x00400000, 0x00000000}, // subnormal to zero
		{0x807fffff, 0x80000000},
		{0x7f800001, 0x7fc00000}, // signalling NaN quieted
	} {
		if got := math.Float32bits(RoundBF16(math.Float32frombits(c.in))); got != c.want {
			t.Errorf("RoundBF16(%#08x) = %#08x, want %#08x", c.in, got, c.want)
		}
	}
}

// The assembly conversions agree with bf16Bits on every value, special ones included.
func TestPairRowsPanel(t *testing.T) {
	skipNoBF16(t)
	rng := rand.New(rand.NewPCG(1, 2))
	val := func() float32 {
		if rng.IntN(8) == 0 {
			return math.Float32frombits(bf16Specials[rng.IntN(len(bf16Specials))])
		}
		return math.Float32frombits(rng.Uint32())
	}
	for _, sh := range []struct{ rows, w, ld, ldd int }{{2, 16, 16, 16}, {7, 48, 50, 64}, {10, 40, 40, 48}, {1, 3, 3, 3}, {64, 96, 96, 96}} {
		src := make([]float32, sh.rows*sh.ld)
		for i := range src {
			src[i] = val()
		}
		dst := make([]uint32, (sh.rows+1)/2*sh.ldd)
		PairRows(src, sh.ld, sh.w, sh.rows, dst, sh.ldd)
		for q := 0; q < (sh.rows+1)/2; q++ {
			for j := 0; j < sh.w; j++ {
				want := uint32(bf16Bits(src[2*q*sh.ld+j]))
				if 2*q+1 < sh.rows {
					want |= uint32(bf16Bits(src[(2*q+1)*sh.ld+j])) << 16
				}
				if dst[q*sh.ldd+j] != want {
					t.Fatalf("%+v: pair row %d col %d = %#08x, want %#08x (from %#08x, %#08x)", sh, q, j, dst[q*sh.ldd+j], want,
						math.Float32bits(src[2*q*sh.ld+j]), math.Float32bits(src[min(2*q+1, sh.rows-1)*sh.ld+j]))
				}
			}
		}
	}
	for _, k := range []int{1, 2, 3, 4, 5, 8, 13, 64} {
		src := make([]float32, 8*k)
		for i := range src {
			src[i] = val()
		}
		dst := make([]uint32, 8*((k+1)/2))
		PairPanel(src, k, dst)
		for q := 0; q < (k+1)/2; q++ {
			for i := 0; i < 8; i++ {
				want := uint32(bf16Bits(src[2*q*8+i]))
				if 2*q+1 < k {
					want |= uint32(bf16Bits(src[(2*q+1)*8+i])) << 16
				}
				if dst[q*8+i] != want {
					t.Fatalf("k=%d: step %d row %d = %#08x, want %#08x", k, q, i, dst[q*8+i], want)
				}
			}
		}
	}
}

// MulPanelsBF16 against float64 products of the bfloat16-rounded operands: bf16 products are
// exact in float32, so only the float32 sums round (bound: 2⁻²⁰ of Σ|a·b| for chains of 32
// pairs). Operands are random normals, A packed with PairPanel and B with PairRows.
func TestMulPanelsBF16(t *testing.T) {
	skipNoBF16(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sh := range []struct{ m, n, k, ldb int }{{8, 16, 1, 16}, {16, 48, 7, 48}, {8, 32, 64, 40}, {24, 64, 130, 64}, {8, 112, 65, 128}, {16, 96, 33, 96}} {
		for _, load := range []bool{false, true} {
			a := make([]float64, sh.m*sh.k) // A[i][p]
			b := make([]float64, sh.k*sh.ldb)
			for i := range a {
				a[i] = float64(RoundBF16(float32(rng.NormFloat64())))
			}
			for i := range b {
				b[i] = float64(RoundBF16(float32(rng.NormFloat64())))
			}
			kp := (sh.k + 1) / 2
			ap := make([]uint32, sh.m*kp)
			panel := make([]float32, 8*sh.k)
			for ir := 0; ir < sh.m; ir += 8 {
				for p := 0; p < sh.k; p++ {
					for i := 0; i < 8; i++ {
						panel[p*8+i] = float32(a[(ir+i)*sh.k+p])
					}
				}
				PairPanel(panel, sh.k, ap[ir*kp:])
			}
			b32 := make([]float32, len(b))
			for i, v := range b {
				b32[i] = float32(v)
			}
			bp := make([]uint32, kp*sh.ldb)
			PairRows(b32, sh.ldb, sh.ldb, sh.k, bp, sh.ldb)
			ldc := sh.n + 3
			c := make([]float32, sh.m*ldc)
			c0 := make([]float32, len(c))
			if load {
				for i := range c {
					c0[i] = float32(rng.NormFloat64())
				}
				copy(c, c0)
			}
			MulPanelsBF16(sh.m, sh.n, kp, ap, bp, sh.ldb, c, ldc, load)
			for i := 0; i < sh.m; i++ {
				for j := 0; j < sh.n; j++ {
					want, mag := 0.0, 0.0
					if load {
						want, mag = float64(c0[i*ldc+j]), math.Abs(float64(c0[i*ldc+j]))
					}
					for p := 0; p < sh.k; p++ {
						want += a[i*sh.k+p] * b[p*sh.ldb+j]
						mag += math.Abs(a[i*sh.k+p] * b[p*sh.ldb+j])
					}
					if d := math.Abs(float64(c[i*ldc+j]) - want); d > mag*0x1p-20 {
						t.Fatalf("%+v load %v: C[%d][%d] = %g, want %g (|Σab| %g)", sh, load, i, j, c[i*ldc+j], want, mag)
					}
				}
				for j := sh.n; j < ldc; j++ {
					if c[i*ldc+j] != c0[i*ldc+j] {
						t.Fatalf("%+v: C[%d][%d] past n written", sh, i, j)
					}
				}
			}
		}
	}
}

// The convolutions' products (GemmPackB) with the bfloat16 products on: every shape the 8x48 kernel takes (edge tiles, k blocks
// of odd depth, transposes, beta) against float64 products of the rounded operands (alpha = 2
// scales exactly, so rounding alpha·A is rounding A).
// Sgemm (matrix products: linear layers, losses, evaluation, search) stays float32.
func TestGemmPackBBF16(t *testing.T) {
	skipNoBF16(t)
	if err := SetBF16(true); err != nil {
		t.Fatal(err)
	}
	defer SetBF16(false)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, sh := range []struct {
		m, n, k      int
		tA, tB       bool
		alpha, beta  float32
		wantBF16Kern bool
	}{{37, 101, 257, false, false, 1, 0, true}, {64, 147, 96, true, false, 2, 0.5, true}, {130, 200, 33, false, true, 1, 1, true}, {8, 48, 1, true, true, 1, 0, true}} {
		if k := kernelFor(sh.m, sh.n, true); (k == avx512Kernel) != sh.wantBF16Kern {
			t.Fatalf("%+v: kernel %s", sh, k.name)
		}
		a, b := make([]float32, sh.m*sh.k), make([]float32, sh.k*sh.n)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		c := make([]float32, sh.m*sh.n)
		for i := range c {
			c[i] = float32(rng.NormFloat64())
		}
		c0 := append([]float32(nil), c...)
		lda, ldb := sh.k, sh.n
		if sh.tA {
			lda = sh.m
		}
		if sh.tB {
			ldb = sh.k
		}
		c32 := append([]float32(nil), c...)
		Sgemm(2, sh.tA, sh.tB, sh.m, sh.n, sh.k, sh.alpha, a, lda, b, ldb, sh.beta, c32, sh.n)
		GemmPackB(sh.tA, sh.m, sh.n, sh.k, sh.alpha, a, lda, MatrixB(sh.tB, b, ldb), sh.beta, c, sh.n, 2)
		for i := 0; i < sh.m; i++ {
			for j := 0; j < sh.n; j++ {
				want := float64(sh.beta) * float64(c0[i*sh.n+j])
				mag := math.Abs(want)
				want32 := want
				for p := 0; p < sh.k; p++ {
					av, bv := a[i*sh.k+p], b[p*sh.n+j]
					if sh.tA {
						av = a[p*sh.m+i]
					}
					if sh.tB {
						bv = b[j*sh.k+p]
					}
					ab := float64(sh.alpha) * float64(RoundBF16(av)) * float64(RoundBF16(bv))
					want += ab
					mag += math.Abs(ab)
					want32 += float64(sh.alpha) * float64(av) * float64(bv)
				}
				if d := math.Abs(float64(c32[i*sh.n+j]) - want32); d > mag*0x1p-18 {
					t.Fatalf("%+v: Sgemm C[%d][%d] = %g, want float32's %g (Σ|ab| %g)", sh, i, j, c32[i*sh.n+j], want32, mag)
				}
				if d := math.Abs(float64(c[i*sh.n+j]) - want); d > mag*0x1p-18 {
					t.Fatalf("%+v: C[%d][%d] = %g, want %g (Σ|ab| %g)", sh, i, j, c[i*sh.n+j], want, mag)
				}
			}
		}
	}
}
