package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/internal/gemm"
)

// impl is one way of running Sgemm under test.
type impl struct {
	name string
	run  func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

// impls returns every implementation this machine can run: OpenBLAS when it loads, and the Go
// backend with each micro-kernel the CPU supports, on one, two and three goroutines.
func impls(t testing.TB) []impl {
	var out []impl
	if ob, err := loadOpenBLAS(); err == nil {
		out = append(out, impl{"openblas", ob.Sgemm}, impl{"openblas/serial", ob.sgemmSerial})
		for _, w := range []int{2, 3} { // the row/column split over goroutines, at every size
			w := w
			out = append(out, impl{fmt.Sprintf("openblas/split%d", w), func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
				if k == 0 || alpha == 0 {
					ob.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
					return
				}
				splitProductAlways(w, transA, transB, m, n, k, a, lda, b, ldb, c, ldc,
					func(m, n int, a, b, c []float32) {
						ob.call(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
					})
			}})
		}
	} else {
		t.Logf("skipping the openblas backend: %v", err)
	}
	out = append(out, impl{"go", goBackend{}.Sgemm}, impl{"go/serial", goBackend{}.sgemmSerial}) // the micro-kernel kernelFor picks per shape
	for _, kern := range gemm.Kernels() {
		for _, workers := range []int{1, 2, 3} {
			kern, workers := kern, workers
			out = append(out, impl{fmt.Sprintf("go/%s/%dw", kern.Name(), workers),
				func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
					check(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
					gemm.SgemmWith(kern, workers, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				}})
		}
	}
	return out
}

// problem is one Sgemm call with its inputs laid out in padded storage.
type problem struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
}

const sentinel = float32(-12345.5)

// newProblem fills A, B and C with values in [-1, 1). Each stride exceeds its row length by pad;
// the padding holds a sentinel that must survive. When beta is 0, C holds NaN.
func newProblem(rng *rand.Rand, transA, transB bool, m, n, k, pad int, alpha, beta float32) *problem {
	p := &problem{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	fill := func(rows, cols int, nan bool) ([]float32, int) {
		ld := cols + pad
		x := make([]float32, rows*ld)
		for i := range x {
			switch {
			case i%ld >= cols:
				x[i] = sentinel
			case nan:
				x[i] = float32(math.NaN())
			default:
				x[i] = rng.Float32()*2 - 1
			}
		}
		return x, ld
	}
	p.a, p.lda = fill(ar, ac, false)
	p.b, p.ldb = fill(br, bc, false)
	p.c, p.ldc = fill(m, n, beta == 0)
	return p
}

// reference computes the expected C in float64, and for each element the bound
// Σ|alpha·a·b| + |beta·c| that scales the tolerated rounding error.
func (p *problem) reference() (want, scale []float64) {
	want = make([]float64, p.m*p.n)
	scale = make([]float64, p.m*p.n)
	for i := 0; i < p.m; i++ {
		for j := 0; j < p.n; j++ {
			var s, abs float64
			for q := 0; q < p.k; q++ {
				var av, bv float32
				if p.transA {
					av = p.a[q*p.lda+i]
				} else {
					av = p.a[i*p.lda+q]
				}
				if p.transB {
					bv = p.b[j*p.ldb+q]
				} else {
					bv = p.b[q*p.ldb+j]
				}
				s += float64(av) * float64(bv)
				abs += math.Abs(float64(av) * float64(bv))
			}
			w := float64(p.alpha) * s
			sc := math.Abs(float64(p.alpha)) * abs
			if p.beta != 0 {
				cv := float64(p.c[i*p.ldc+j])
				w += float64(p.beta) * cv
				sc += math.Abs(float64(p.beta) * cv)
			}
			want[i*p.n+j] = w
			scale[i*p.n+j] = sc
		}
	}
	return want, scale
}

// verify returns an error describing the first element of got that is wrong, or whose padding
// was overwritten. The tolerance is (k+4)·2⁻²³ relative to the scale from reference, the
// textbook bound for a float32 dot product of length k.
func (p *problem) verify(got []float32, want, scale []float64) error {
	tol := float64(p.k+4) * 0x1p-23
	for i := 0; i < p.m; i++ {
		for j := 0; j < p.ldc; j++ {
			g := got[i*p.ldc+j]
			if j >= p.n {
				if g != sentinel {
					return fmt.Errorf("padding C[%d][%d] overwritten with %v", i, j, g)
				}
				continue
			}
			w, s := want[i*p.n+j], scale[i*p.n+j]
			if d := math.Abs(float64(g) - w); !(d <= tol*s+1e-30) {
				return fmt.Errorf("C[%d][%d] = %v, want %v (error %.3g, allowed %.3g)", i, j, g, w, d, tol*s)
			}
		}
	}
	return nil
}

// run calls f on a copy of C, leaving the problem untouched.
func (p *problem) run(f impl) []float32 {
	c := append([]float32(nil), p.c...)
	f.run(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, c, p.ldc)
	return c
}

func TestSgemmMatchesFloat64Reference(t *testing.T) {
	type shape struct{ m, n, k int }
	small := []shape{
		{1, 1, 1}, {7, 13, 5}, {1000, 1, 3}, {1, 1000, 3}, {3, 5, 1000}, {65, 67, 129},
		{5, 17, 0},                            // k = 0: C = beta·C
		{9, 49, 7}, {13, 95, 2}, {17, 33, 31}, // edge tiles of every kernel's mr and nr
	}
	// Shapes that cross the cache blocks: kc = 256, mc = 128/144/192, nc = 1024/2048/3072.
	large := []shape{{200, 100, 300}, {150, 1030, 20}, {7, 3080, 9}, {33, 40, 520}}
	alphaBeta := [][2]float32{{1, 0}, {1, 1}, {-0.5, 2}, {0, 0.5}, {2, 0}}
	rng := rand.New(rand.NewPCG(1, 2))
	impls := impls(t)
	for si, sh := range append(small, large...) {
		isLarge := si >= len(small)
		for _, trans := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for abi, ab := range alphaBeta {
				if isLarge && abi != 2 { // large shapes: one alpha/beta pair, to keep the test fast
					continue
				}
				pad := (si + abi) % 3 * 2 // strides of cols, cols+2, cols+4
				p := newProblem(rng, trans[0], trans[1], sh.m, sh.n, sh.k, pad, ab[0], ab[1])
				want, scale := p.reference()
				for _, f := range impls {
					name := fmt.Sprintf("%dx%dx%d/tA=%v,tB=%v/alpha=%g,beta=%g/pad=%d/%s",
						sh.m, sh.n, sh.k, trans[0], trans[1], ab[0], ab[1], pad, f.name)
					if err := p.verify(p.run(f), want, scale); err != nil {
						t.Errorf("%s: %v", name, err)
					}
				}
			}
		}
	}
}

// TestSgemmConcurrentCalls runs products from several goroutines at once on every backend, as
// the engine does when it parallelises over a batch.
func TestSgemmConcurrentCalls(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	probs := make([]*problem, 6)
	wants := make([][2][]float64, len(probs))
	for i := range probs {
		probs[i] = newProblem(rng, i%2 == 0, i%3 == 0, 70+i, 90-i, 150, 1, 1, 0)
		w, s := probs[i].reference()
		wants[i] = [2][]float64{w, s}
	}
	for _, f := range impls(t) {
		errs := make(chan error, len(probs))
		for i, p := range probs {
			go func() {
				if err := p.verify(p.run(f), wants[i][0], wants[i][1]); err != nil {
					errs <- fmt.Errorf("problem %d: %w", i, err)
					return
				}
				errs <- nil
			}()
		}
		for range probs {
			if err := <-errs; err != nil {
				t.Errorf("%s: %v", f.name, err)
			}
		}
	}
}

// TestVerifyCatchesWrongResults shows the checker fails on a result that is slightly wrong, so a
// passing TestSgemmMatchesFloat64Reference means something.
func TestVerifyCatchesWrongResults(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	p := newProblem(rng, false, true, 9, 11, 40, 1, 1, 0.5)
	want, scale := p.reference()
	good := p.run(impl{"go", goBackend{}.Sgemm})
	if err := p.verify(good, want, scale); err != nil {
		t.Fatalf("correct result rejected: %v", err)
	}
	bad := append([]float32(nil), good...)
	bad[5*p.ldc+7] += 1e-3
	if p.verify(bad, want, scale) == nil {
		t.Errorf("an error of 1e-3 in one element was not caught")
	}
	bad = append([]float32(nil), good...)
	bad[2*p.ldc+p.n] = 0 // padding
	if p.verify(bad, want, scale) == nil {
		t.Errorf("a write into C's padding was not caught")
	}
}

func TestSgemmPanicsNamingShapes(t *testing.T) {
	cases := []struct {
		name          string
		tA, tB        bool
		m, n, k       int
		la, lb, lc    int
		lda, ldb, ldc int
		want          string
	}{
		{"negative size", false, false, -1, 2, 3, 6, 6, 6, 3, 2, 2, "negative size m=-1"},
		{"A too short", false, false, 2, 2, 3, 5, 6, 4, 3, 2, 2, "A is 2x3 (stride 3) but has only 5 elements"},
		{"transposed A too short", true, false, 2, 2, 3, 5, 6, 4, 2, 2, 2, "A is 3x2 (stride 2) but has only 5 elements"},
		{"B stride too small", false, false, 2, 4, 3, 6, 12, 8, 3, 3, 4, "B is 3x4 but its stride is 3"},
		{"transposed B stride", false, true, 2, 4, 3, 6, 12, 8, 3, 2, 4, "B is 4x3 but its stride is 2"},
		{"C too short", false, false, 2, 2, 3, 6, 6, 3, 3, 2, 2, "C is 2x2 (stride 2) but has only 3 elements"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.Contains(msg, tc.want) {
					t.Errorf("panic %q, want one containing %q", r, tc.want)
				}
			}()
			Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, 1, make([]float32, tc.la), tc.lda,
				make([]float32, tc.lb), tc.ldb, 0, make([]float32, tc.lc), tc.ldc)
		})
	}
}

// withBackend runs f with the named backend in use, restoring the previous one afterwards.
func withBackend(t *testing.T, name string, f func()) {
	t.Helper()
	prev := selected()
	if err := Use(name); err != nil {
		t.Skipf("backend %s unavailable: %v", name, err)
	}
	defer current.Store(prev)
	f()
}

func TestUseGoForcesPureGoPath(t *testing.T) {
	withBackend(t, "go", func() {
		if got := Default().Name(); got != "go" {
			t.Fatalf("Default().Name() = %q after Use(\"go\")", got)
		}
		if d := Describe(); !strings.HasPrefix(d, "go (pure Go, ") {
			t.Errorf("Describe() = %q", d)
		}
		a := []float32{1, 2, 3, 4, 5, 6} // 2x3
		b := []float32{1, 0, 0, 1, 1, 1} // 3x2
		c := []float32{float32(math.NaN()), 0, 0, float32(math.Inf(1))}
		Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
		if want := []float32{4, 5, 10, 11}; fmt.Sprint(c) != fmt.Sprint(want) {
			t.Errorf("C = %v, want %v", c, want)
		}
	})
}

// TestEnvironmentForcesGo runs this test binary again with CONTRASTIVE_GEMM=go and checks, in the
// child, that the first use of the package picks the go backend and says why.
func TestEnvironmentForcesGo(t *testing.T) {
	if os.Getenv("BLAS_TEST_CHILD") == "1" {
		if Default().Name() != "go" || Reason() != "CONTRASTIVE_GEMM=go" {
			fmt.Printf("child: backend %s, reason %q\n", Default().Name(), Reason())
			os.Exit(3)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEnvironmentForcesGo$")
	cmd.Env = append(os.Environ(), "BLAS_TEST_CHILD=1", EnvVar+"=go")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("with %s=go: %v\n%s", EnvVar, err, out)
	}
}

func TestUseOpenBLAS(t *testing.T) {
	if _, err := loadOpenBLAS(); err != nil {
		t.Skipf("libopenblas is not installed here (%v); the go backend is used instead", err)
	}
	withBackend(t, "openblas", func() {
		if got := Default().Name(); got != "openblas" {
			t.Fatalf("Default().Name() = %q after Use(\"openblas\")", got)
		}
		t.Logf("Describe: %s", Describe())
		if d := Describe(); !strings.Contains(d, "thread per call") {
			t.Errorf("Describe() = %q, want the thread count", d)
		}
	})
}

func TestUseRejectsUnknownBackend(t *testing.T) {
	before := Default()
	if err := Use("cublas"); err == nil || !strings.Contains(err.Error(), "cublas") {
		t.Errorf("Use(\"cublas\") = %v, want an error naming it", err)
	}
	if Default() != before {
		t.Errorf("a failed Use changed the backend")
	}
}

func TestChooseFollowsEnvironment(t *testing.T) {
	missing := func() (*openBLAS, error) { return loadOpenBLASFrom([]string{"libopenblas-missing.so.0"}) }
	found := func() (*openBLAS, error) { return &openBLAS{}, nil }
	cases := []struct {
		env        string
		load       func() (*openBLAS, error)
		wantName   string
		wantReason string
		wantErr    string // a forced backend that cannot be used is an error (Check)
	}{
		{"", found, map[bool]string{true: "go", false: "openblas"}[fastGoKernel()], "default: ", ""},
		{"", missing, "go", "default: ", ""},
		{"go", found, "go", "CONTRASTIVE_GEMM=go", ""},
		{"openblas", found, "openblas", "CONTRASTIVE_GEMM=openblas", ""},
		{"openblas", missing, "go", "CONTRASTIVE_GEMM=openblas, but openblas: libopenblas-missing.so.0 not found", "OpenBLAS cannot be used"},
		{"mkl", missing, "go", `CONTRASTIVE_GEMM="mkl" is not openblas or go`, `"mkl" names no GEMM backend`},
	}
	for _, tc := range cases {
		s := choose(tc.env, tc.load)
		if s.backend.Name() != tc.wantName || !strings.Contains(s.reason, tc.wantReason) {
			t.Errorf("choose(%q): %s, %q; want %s and a reason containing %q",
				tc.env, s.backend.Name(), s.reason, tc.wantName, tc.wantReason)
		}
		if tc.wantErr == "" && s.err != nil || tc.wantErr != "" && (s.err == nil || !strings.Contains(s.err.Error(), tc.wantErr)) {
			t.Errorf("choose(%q): error %v, want one containing %q", tc.env, s.err, tc.wantErr)
		}
	}
}

func TestAvailableEndsWithGo(t *testing.T) {
	av := Available()
	if len(av) == 0 || av[len(av)-1] != "go" {
		t.Fatalf("Available() = %v, want a list ending in go", av)
	}
	t.Logf("available: %v; go micro-kernels: %s; in use: %s", av, gemm.KernelNames(), Describe())
}

// TestForcedBackendIsInUse makes a run with CONTRASTIVE_GEMM set fail unless that backend really
// computes (CI runs the engine tests with CONTRASTIVE_GEMM=openblas: they must not silently run
// on the go backend where OpenBLAS cannot load).
func TestForcedBackendIsInUse(t *testing.T) {
	want := strings.ToLower(strings.TrimSpace(os.Getenv(EnvVar)))
	if want == "" {
		t.Skip(EnvVar + " is not set")
	}
	if err := Check(); err != nil {
		t.Fatal(err)
	}
	if got := Default().Name(); got != want {
		t.Fatalf("%s=%s, but the backend in use is %s (%s)", EnvVar, want, got, Reason())
	}
}
