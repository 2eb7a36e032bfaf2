package gemm

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"
)

// bfloat16 products (opt-in, AVX512_BF16 CPUs such as Zen 4 and Sapphire Rapids): the operands
// are rounded to bfloat16 (8 significant bits, float32's exponent range), to nearest even, and
// multiplied in pairs by VDPBF16PS, which adds both products of a pair to a float32 sum — twice
// the multiply-adds of a float32 FMA per instruction. Sums, master weights and everything
// outside the products stay float32. Each operand's relative rounding error is at most 2⁻⁹, so a
// product's is ~2⁻⁸ where float32's is 2⁻²⁴: for training, not for checking gradients.
// VDPBF16PS and the conversion treat subnormal inputs as zero and flush subnormal results.
//
// The pair layout: two consecutive k of a row (A) or of a column (B) share one 32-bit word, the
// lower k in the low half: for A's 8-row panels a[(i/8)·8·kp + q·8 + i%8] holds A[i][2q] and
// A[i][2q+1]; B's pair rows b[q·ldb + j] hold B[2q][j] and B[2q+1][j]. An odd k is padded with
// a zero.

var bf16On atomic.Bool

// PrecisionEnv is the environment variable that switches the bfloat16 products on for a whole
// process (CONTRASTIVE_PRECISION=bf16; fp32 or unset: off). CheckPrecisionEnv reports a value
// that cannot be honoured.
const PrecisionEnv = "CONTRASTIVE_PRECISION"

func init() { bf16On.Store(EnvBF16()) }

// EnvBF16 reports whether CONTRASTIVE_PRECISION asks for bf16 and the CPU has it.
func EnvBF16() bool { return os.Getenv(PrecisionEnv) == "bf16" && hasBF16 }

// CheckPrecisionEnv reports an unknown CONTRASTIVE_PRECISION or bf16 on a CPU without it.
func CheckPrecisionEnv() error {
	switch v := os.Getenv(PrecisionEnv); v {
	case "", "fp32":
		return nil
	case "bf16":
		if !hasBF16 {
			return fmt.Errorf("%s=bf16: %w", PrecisionEnv, ErrNoBF16)
		}
		return nil
	default:
		return fmt.Errorf("%s=%q: want fp32 or bf16", PrecisionEnv, v)
	}
}

// HasBF16 reports whether the bfloat16 products can run here.
func HasBF16() bool { return hasBF16 }

// ErrNoBF16 is SetBF16's error on a CPU without AVX512_BF16.
var ErrNoBF16 = errors.New("bf16 precision needs a CPU with AVX512_BF16 (Zen 4, Sapphire Rapids, Cooper Lake); this one has none")

// SetBF16 switches the convolutions' and matrix products' inner products to bfloat16 (on) or
// back to float32 (off) for the whole process.
func SetBF16(on bool) error {
	if on && !hasBF16 {
		return ErrNoBF16
	}
	bf16On.Store(on)
	return nil
}

// BF16 reports whether the bfloat16 products are switched on.
func BF16() bool { return bf16On.Load() }

// RoundBF16 is x rounded to bfloat16 as the conversions here do it (nearest even, subnormals to
// zero, NaNs quieted), as the bits of a float32 whose low 16 bits are zero.
func RoundBF16(x float32) float32 { return math.Float32frombits(uint32(bf16Bits(x)) << 16) }

func bf16Bits(x float32) uint16 {
	u := math.Float32bits(x)
	switch {
	case u&0x7f800000 == 0: // zero or subnormal
		return uint16(u>>16) & 0x8000
	case u&0x7fffffff > 0x7f800000: // NaN
		return uint16(u>>16) | 0x40
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}

// The VPERMW tables of the conversions (see bf16_amd64.s).
var rowsIdx, panelIdx = func() (r, p [32]uint16) {
	for i := 0; i < 16; i++ {
		r[2*i], r[2*i+1] = uint16(i), uint16(16+i)
	}
	for i := 0; i < 8; i++ {
		p[2*i], p[2*i+1] = uint16(i), uint16(8+i)
		p[16+2*i], p[17+2*i] = uint16(16+i), uint16(24+i)
	}
	return
}()

// PairRows writes rows 0..rows-1 of src (w values each, ld apart) as (rows+1)/2 pair rows of
// dst, ldd words apart: dst[q·ldd + j] = bf16(src[2q·ld+j]) | bf16(src[(2q+1)·ld+j])<<16, with
// a zero high half when rows is odd. B's layout for MulPanelsBF16.
func PairRows(src []float32, ld, w, rows int, dst []uint32, ldd int) {
	if w < 0 || rows < 0 || (rows > 1 && ld < w) || ((rows+1)/2 > 1 && ldd < w) ||
		(rows > 0 && len(src) < (rows-1)*ld+w) || (rows > 0 && len(dst) < (rows+1)/2*ldd-ldd+w) {
		panic(fmt.Sprintf("gemm.PairRows: %d rows of %d values (stride %d) from %d, to stride %d in %d", rows, w, ld, len(src), ldd, len(dst)))
	}
	pairs, w16 := rows/2, 0
	if hasBF16 {
		w16 = w / 16 * 16
		if pairs > 0 && w16 > 0 {
			pairRowsAsm(src, ld, w16, pairs, dst, ldd)
		}
	}
	for q := 0; q < pairs && w16 < w; q++ {
		lo, hi, d := src[2*q*ld:], src[(2*q+1)*ld:], dst[q*ldd:]
		for j := w16; j < w; j++ {
			d[j] = uint32(bf16Bits(lo[j])) | uint32(bf16Bits(hi[j]))<<16
		}
	}
	if rows%2 == 1 {
		lo, d := src[(rows-1)*ld:], dst[pairs*ldd:]
		for j := 0; j < w; j++ {
			d[j] = uint32(bf16Bits(lo[j]))
		}
	}
}

// PairPanel writes an 8-row panel of A (k steps of 8 values, src[p·8 + i] = A[i][p]) in the pair
// layout: dst[q·8 + i] = bf16(A[i][2q]) | bf16(A[i][2q+1])<<16, (k+1)/2 steps, the last one's
// high half zero when k is odd.
func PairPanel(src []float32, k int, dst []uint32) {
	if k < 0 || len(src) < 8*k || len(dst) < 8*((k+1)/2) {
		panic(fmt.Sprintf("gemm.PairPanel: %d steps from %d values to %d", k, len(src), len(dst)))
	}
	done := 0
	if hasBF16 && k >= 4 {
		pairPanelAsm(src, k/4, dst)
		done = k / 4 * 4
	}
	for p := done; p < k; p += 2 {
		for i := 0; i < 8; i++ {
			v := uint32(bf16Bits(src[p*8+i]))
			if p+1 < k {
				v |= uint32(bf16Bits(src[(p+1)*8+i])) << 16
			}
			dst[p/2*8+i] = v
		}
	}
}

// MulPanelsBF16 is MulPanels on operands in the pair layout: C = Ã·B (or C += Ã·B with load) for
// kp pair steps, Ã m/8 panels of kp·8 words, B kp pair rows ldb words apart. m % 8 == 0, n % 16
// == 0. Partial sums run over PanelDepth values of k (PanelDepth/2 pairs), as MulPanels'.
func MulPanelsBF16(m, n, kp int, a []uint32, b []uint32, ldb int, c []float32, ldc int, load bool) {
	if !hasBF16 {
		panic("gemm.MulPanelsBF16: no AVX512_BF16 on this CPU")
	}
	if m%PanelRows != 0 || n%PanelColsMin != 0 || kp < 1 || ldb < 1 || ldc < n ||
		len(a) < m*kp || (m > 0 && n > 0 && (len(b) < (kp-1)*ldb+n || len(c) < (m-1)*ldc+n)) {
		panic(fmt.Sprintf("gemm.MulPanelsBF16: m=%d n=%d kp=%d with %d words of A, %d of B (stride %d), %d of C (stride %d)",
			m, n, kp, len(a), len(b), ldb, len(c), ldc))
	}
	wide := n / PanelCols * PanelCols
	if n-wide == 16 && wide > 0 {
		wide -= PanelCols // 48 + 16 columns as 32 + 32, as in MulPanels
	}
	depth := max(1, PanelDepth/2)
	for ir := 0; ir < m; ir += PanelRows {
		for j0 := 0; j0 < n; {
			cols := PanelCols
			if j0 >= wide {
				cols = min(32, n-j0)
			}
			for p0 := 0; p0 < kp; p0 += depth {
				bf16Kernel(cols, min(depth, kp-p0), &a[ir*kp+p0*PanelRows], &b[p0*ldb+j0], ldb, &c[ir*ldc+j0], ldc, load || p0 > 0)
			}
			j0 += cols
		}
	}
}

// macroKernelBF16 is macroKernel for the 8x48 kernel's bfloat16 twin, on blocks in the pair
// layout (kbp pair steps).
func macroKernelBF16(mb, j0, j1, kbp int, ap, bp []uint32, c []float32, ldc int, tile []float32, load bool) {
	const mr, nr = PanelRows, PanelCols
	tile = tile[:mr*nr]
	for ir := 0; ir < mb; ir += mr {
		mm := min(mr, mb-ir)
		a := &ap[ir*kbp]
		for jr := j0; jr < j1; jr += nr {
			nn := min(nr, j1-jr)
			b := &bp[jr*kbp]
			ci := ir*ldc + jr
			if mm == mr && nn == nr {
				bf16Kernel(nr, kbp, a, b, nr, &c[ci], ldc, load)
				continue
			}
			bf16Kernel(nr, kbp, a, b, nr, &tile[0], nr, false)
			storeEdge(c[ci:], ldc, tile, nr, mm, nn, load)
		}
	}
}

// Words is a float32 buffer seen as 32-bit words: scratch for the pair layout, which callers
// pool with their float32 buffers.
func Words(f []float32) []uint32 {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&f[0])), len(f))
}

// BF16Speedup is the bfloat16 8×48 kernel's multiply-adds per second over the float32 8×48
// kernel's, measured once in cache as ratedKernels measures (bestTimes over 48 rounds), or 0
// without AVX512_BF16. It is not 2 everywhere: VDPBF16PS does two multiply-adds per
// lane, but on an Intel Xeon (Sapphire Rapids class) at a third of the FMA's rate, so there the
// ratio is about 0.6 and bf16 steps are slower than float32 ones (AMD Zen 4: about 1.9).
var BF16Speedup = sync.OnceValue(func() float64 {
	if !hasBF16 {
		return 0
	}
	const kp, calls, rounds = 64, 32, 48 // kp pairs: 128 multiply-adds deep, as ratedKernels
	a, b := make([]uint32, 8*kp), make([]uint32, 48*kp)
	af, bf := make([]float32, 8*2*kp), make([]float32, 48*2*kp)
	c := make([]float32, 8*48)
	for i := range a {
		a[i] = 0x3f803f80 // 1.0, 1.0
	}
	for i := range b {
		b[i] = 0x3f803f80
	}
	best := bestTimes(rounds, func() {
		for j := 0; j < calls; j++ {
			bf16Kernel(48, kp, &a[0], &b[0], 48, &c[0], 48, true)
		}
	}, func() {
		for j := 0; j < calls; j++ {
			avx512Kernel.fn(2*kp, &af[0], &bf[0], 48, &c[0], 48, true)
		}
	})
	return best[1].Seconds() / best[0].Seconds()
})
