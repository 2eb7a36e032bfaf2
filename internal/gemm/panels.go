package gemm

import "fmt"

// Panel products for callers that lay their operands out for the AVX-512 8×48 micro-kernel
// themselves (the Winograd convolutions write their transforms straight into these layouts, so
// that nothing is packed):
//
//	C[m×n] = Ã·B  (or C += Ã·B with load),
//
// where Ã is m/8 panels of 8 rows, each k steps of 8 values (a[(i/8)·8k + p·8 + i%8] = A[i][p]),
// and B is k rows of n values read in place, ldb floats apart. m must be a multiple of 8 and n
// of 16: a caller pads its rows and columns (the micro-kernels read and write whole 8×48,
// 8×32 and 8×16 tiles). ldb may be less than n: row p's columns past ldb are then row p+1's first values, and
// C's columns past ldb hold whatever that gives (a caller that needs only ldb columns ignores
// them).

// PanelRows and PanelCols are the register tile of MulPanels. n may also end in a block of 16
// or 32 columns (PanelColsMin: the 8×16 and 8×32 kernels), which costs no padding where a
// caller's columns are channels (64, 128, 256: padded to 48's multiples they were 96, 144, 288).
const PanelRows, PanelCols, PanelColsMin = 8, 48, 16

// HasPanels reports whether MulPanels can run here (an AVX-512 CPU and operating system).
func HasPanels() bool { return hasPanels }

// MulPanels computes C = Ã·B, or C += Ã·B when load, on the calling goroutine (see above).
// Shapes that do not fit the slices panic.
func MulPanels(m, n, k int, a []float32, b []float32, ldb int, c []float32, ldc int, load bool) {
	if !hasPanels {
		panic("gemm.MulPanels: no AVX-512 micro-kernel on this CPU")
	}
	if m%PanelRows != 0 || n%PanelColsMin != 0 || k < 1 || ldb < 1 || ldc < n ||
		len(a) < m*k || (m > 0 && n > 0 && (len(b) < (k-1)*ldb+n || len(c) < (m-1)*ldc+n)) {
		panic(fmt.Sprintf("gemm.MulPanels: m=%d n=%d k=%d with %d values of A, %d of B (stride %d), %d of C (stride %d)",
			m, n, k, len(a), len(b), ldb, len(c), ldc))
	}
	wide := n / PanelCols * PanelCols
	if n-wide == 16 && wide > 0 {
		// 48 + 16 columns as 32 + 32: the 8×16 kernel is the slowest per column (on Zen 4, 1.75×
		// the 8×48's time per multiply-add; the 8×32 one close to the 8×48's). Each C value is
		// the same chain of multiply-adds whichever kernel computes it.
		wide -= PanelCols
	}
	for ir := 0; ir < m; ir += PanelRows {
		for jr := 0; jr < wide; jr += PanelCols {
			for p0 := 0; p0 < k; p0 += PanelDepth {
				panelKernel(min(PanelDepth, k-p0), &a[ir*k+p0*PanelRows], &b[p0*ldb+jr], ldb, &c[ir*ldc+jr], ldc, load || p0 > 0)
			}
		}
		for j0 := wide; j0 < n; j0 += 32 {
			cols := min(32, n-j0)
			for p0 := 0; p0 < k; p0 += PanelDepth {
				panelKernelNarrow(cols, min(PanelDepth, k-p0), &a[ir*k+p0*PanelRows], &b[p0*ldb+j0], ldb, &c[ir*ldc+j0], ldc, load || p0 > 0)
			}
		}
	}
}

// PanelDepth is the longest run of k that MulPanels sums in registers before adding it to C: a
// sum of many float32 products in one chain loses more than partial sums added together. With
// one chain over all 512 input channels, Winograd's error on ResNet-18's 512-channel stage was
// 3.8× PyTorch float32's (NCHW); with runs of 64, 1.6× (128: 2.0×), for no measurable time.
var PanelDepth = 64
