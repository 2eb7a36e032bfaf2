//go:build linux || darwin || freebsd

package blas

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/contrastive-go/contrastive/internal/gemm"
	"github.com/ebitengine/purego"
)

// openBLASNames are the libraries tried, in order, by loadOpenBLAS: the soname first (found through
// the loader's search path), then the places Debian and its alternatives system put it.
var openBLASNames = []string{
	"libopenblas.so.0",
	"libopenblas.so",
	"/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
	"/etc/alternatives/libopenblas.so.0-x86_64-linux-gnu",
	"/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
	"libopenblas.dylib",
	"/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
	"/usr/local/opt/openblas/lib/libopenblas.dylib",
}

// CBLAS enumerations (cblas.h).
const (
	cblasRowMajor = 101
	cblasNoTrans  = 111
	cblasTrans    = 112
)

// openBLAS is the backend that calls cblas_sgemm in a libopenblas loaded at run time.
type openBLAS struct {
	path    string // the file that was loaded
	config  string // openblas_get_config(), or "" when the library lacks it
	core    string // openblas_get_corename(), or ""
	threads int    // openblas_get_num_threads(), or 0 when unknown

	setThreads func(int32) // openblas_set_num_threads, or nil

	// threadMu orders the library's thread setting: a product run on OpenBLAS's own threads
	// (see libThreadFlops) holds it exclusively while the setting is GOMAXPROCS, every
	// single-threaded call holds it shared.
	threadMu sync.RWMutex

	sgemm func(order, transA, transB, m, n, k int32, alpha float32, a []float32, lda int32,
		b []float32, ldb int32, beta float32, c []float32, ldc int32)
}

var (
	openBLASOnce sync.Once
	openBLASLib  *openBLAS
	openBLASErr  error
)

// LibraryEnvVar names the environment variable that gives the OpenBLAS library to load (a path
// or a file name for the dynamic loader) instead of the usual names.
const LibraryEnvVar = "CONTRASTIVE_OPENBLAS"

// loadOpenBLAS loads libopenblas once per process and returns the backend, or an error saying
// which libraries were tried.
func loadOpenBLAS() (*openBLAS, error) {
	openBLASOnce.Do(func() {
		names := openBLASNames
		if lib := os.Getenv(LibraryEnvVar); lib != "" {
			names = []string{lib}
		}
		openBLASLib, openBLASErr = loadOpenBLASFrom(names)
	})
	return openBLASLib, openBLASErr
}

// loadOpenBLASFrom tries each name in turn and sets the library's thread count to GOMAXPROCS.
func loadOpenBLASFrom(names []string) (*openBLAS, error) {
	var (
		h    uintptr
		name string
		errs []string
	)
	// OpenBLAS's worker threads spin for 2^28 cycles (about 0.1 s) after each threaded call
	// before they sleep, taking the cores from the engine's goroutines; 2^4 makes them sleep at
	// once (waking them costs microseconds, nothing beside a product of libThreadFlops). The
	// library reads the variable when it loads; a value the user set is kept.
	if _, ok := os.LookupEnv("OPENBLAS_THREAD_TIMEOUT"); !ok {
		os.Setenv("OPENBLAS_THREAD_TIMEOUT", "4")
	}
	for _, n := range names {
		var err error
		if h, err = purego.Dlopen(n, purego.RTLD_NOW|purego.RTLD_LOCAL); err == nil {
			name = n
			break
		}
		errs = append(errs, err.Error())
	}
	if h == 0 {
		if len(names) == 0 {
			return nil, errors.New("openblas: no library names to try")
		}
		return nil, fmt.Errorf("openblas: %s not found (tried %s; last error: %s)",
			names[0], strings.Join(names, ", "), errs[len(errs)-1])
	}
	sym, err := purego.Dlsym(h, "cblas_sgemm")
	if err != nil {
		purego.Dlclose(h)
		return nil, fmt.Errorf("openblas: %s has no cblas_sgemm: %w", name, err)
	}
	ob := &openBLAS{path: loadedPath(name)}
	purego.RegisterFunc(&ob.sgemm, sym)
	if sym, err := purego.Dlsym(h, "openblas_set_num_threads"); err == nil {
		purego.RegisterFunc(&ob.setThreads, sym)
		// One OpenBLAS thread by default: the parallelism is ours (the convolution runs one
		// product per core, Sgemm splits mid-sized products over GOMAXPROCS goroutines); only
		// products of at least libThreadFlops run on the library's threads (sgemm2).
		ob.setThreads(1)
	}
	if sym, err := purego.Dlsym(h, "openblas_get_num_threads"); err == nil {
		var get func() int32
		purego.RegisterFunc(&get, sym)
		ob.threads = int(get())
	}
	if sym, err := purego.Dlsym(h, "openblas_get_config"); err == nil {
		var get func() string
		purego.RegisterFunc(&get, sym)
		ob.config = strings.TrimSpace(get())
	}
	if sym, err := purego.Dlsym(h, "openblas_get_corename"); err == nil {
		var get func() string
		purego.RegisterFunc(&get, sym)
		ob.core = strings.TrimSpace(get())
	}
	return ob, nil
}

// loadedPath returns the file the dynamic loader mapped for name: found in /proc/self/maps on
// Linux, by resolving symlinks elsewhere, or name itself when neither works.
func loadedPath(name string) string {
	if maps, err := os.ReadFile("/proc/self/maps"); err == nil {
		for _, line := range strings.Split(string(maps), "\n") {
			if i := strings.Index(line, "/"); i >= 0 && strings.Contains(line[i:], "libopenblas") {
				return line[i:]
			}
		}
	}
	if filepath.IsAbs(name) {
		if p, err := filepath.EvalSymlinks(name); err == nil {
			return p
		}
	}
	return name
}

// Name returns "openblas".
func (*openBLAS) Name() string { return "openblas" }

// describe reads, for example, "openblas (OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64;
// core Zen; 2 threads; /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so)".
func (o *openBLAS) describe() string {
	parts := []string{}
	if o.config != "" {
		parts = append(parts, o.config)
	}
	if o.core != "" {
		parts = append(parts, "core "+o.core)
	}
	if o.threads > 0 {
		parts = append(parts, fmt.Sprintf("%d thread per call, products from %d³ on %d OpenBLAS threads, mid-sized ones split over %d goroutines",
			o.threads, cbrt(libThreadFlops), runtime.GOMAXPROCS(0), runtime.GOMAXPROCS(0)))
	}
	parts = append(parts, o.path)
	return "openblas (" + strings.Join(parts, "; ") + ")"
}

// libThreadFlops is the size m·n·k from which Sgemm runs one cblas_sgemm on GOMAXPROCS OpenBLAS
// threads instead of splitting the product over goroutines. Measured at 1024×1152×256 on 2
// cores: 187 GFLOP/s on the library's threads against 137 split in two single-threaded calls
// (each half packs all of B, and OpenBLAS's threads share the packed panels). Below it, a
// threaded call's start-up and hand-off cost more than they give.
const libThreadFlops = 1 << 26

// cbrt is the integer cube root of n, rounded down (for describe).
func cbrt(n int) int {
	r := 1
	for (r+1)*(r+1)*(r+1) <= n {
		r++
	}
	return r
}

// Sgemm checks its arguments and computes the product: a product of at least libThreadFlops
// with one cblas_sgemm on GOMAXPROCS OpenBLAS threads, a smaller one with single-threaded
// cblas_sgemm calls, split into row (or column) blocks over GOMAXPROCS goroutines. Empty
// products (k = 0 or alpha = 0) and sizes beyond OpenBLAS's 32-bit integers are handled in Go.
func (o *openBLAS) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	o.sgemm2(runtime.GOMAXPROCS(0), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmSerial is Sgemm on the calling goroutine alone.
func (o *openBLAS) sgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	o.sgemm2(1, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func (o *openBLAS) sgemm2(workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	check(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		gemm.ScaleC(m, n, beta, c, ldc)
		return
	}
	for _, v := range [...]int{m, n, k, lda, ldb, ldc, len(a), len(b), len(c)} {
		if v > math.MaxInt32 {
			goBackend{}.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			return
		}
	}
	if workers > 1 && o.setThreads != nil && m*n*k >= libThreadFlops {
		o.threadMu.Lock()
		defer o.threadMu.Unlock()
		o.setThreads(int32(workers))
		defer o.setThreads(1)
		o.call(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	o.threadMu.RLock()
	defer o.threadMu.RUnlock()
	splitProduct(workers, transA, transB, m, n, k, a, lda, b, ldb, c, ldc,
		func(m, n int, a, b, c []float32) {
			o.call(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		})
}

// call is one cblas_sgemm on checked arguments.
func (o *openBLAS) call(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := int32(cblasNoTrans), int32(cblasNoTrans)
	if transA {
		ta = cblasTrans
	}
	if transB {
		tb = cblasTrans
	}
	o.sgemm(cblasRowMajor, ta, tb, int32(m), int32(n), int32(k), alpha, a, int32(lda), b, int32(ldb), beta, c, int32(ldc))
}
