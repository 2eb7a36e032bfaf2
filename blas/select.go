package blas

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/contrastive-go/contrastive/internal/gemm"
)

// EnvVar names the environment variable that forces a backend: "openblas" or "go".
const EnvVar = "CONTRASTIVE_GEMM"

// selection is the backend in use and why it was chosen.
type selection struct {
	backend Backend
	reason  string
	err     error // a forced backend that cannot be used (Check)
}

var (
	current  atomic.Pointer[selection]
	initOnce sync.Once
)

// Default returns the backend in use, choosing it on the first call (see the package comment).
func Default() Backend { return selected().backend }

// Check reports a backend forced by CONTRASTIVE_GEMM that cannot be used: an unknown name, or
// openblas where the library does not load. Programs should refuse to run then, rather than
// compute on a backend the user did not ask for (Default falls back to go).
func Check() error { return selected().err }

// Reason says why the backend in use was chosen, for example
// "CONTRASTIVE_GEMM=openblas, but openblas: libopenblas.so.0 not found; using go".
func Reason() string { return selected().reason }

// Describe is a one-line, human-readable account of the backend in use: its name, its library
// and configuration, its thread count and why it was chosen.
func Describe() string {
	s := selected()
	d := s.backend.Name()
	if x, ok := s.backend.(interface{ describe() string }); ok {
		d = x.describe()
	}
	return d + " [" + s.reason + "]"
}

// Available lists the names of the backends that can run on this machine, in order of preference.
func Available() []string {
	var names []string
	if _, err := loadOpenBLAS(); err == nil {
		names = append(names, "openblas")
	}
	return append(names, "go")
}

// Use switches the backend for the whole process, for tests, benchmarks and command-line flags.
// It returns an error, and leaves the backend unchanged, when name is unknown or cannot load.
func Use(name string) error {
	b, err := byName(name)
	if err != nil {
		return err
	}
	current.Store(&selection{b, "chosen by blas.Use(" + fmt.Sprintf("%q", name) + ")", nil})
	return nil
}

// selected returns the current selection, making the first-use choice if none has been made.
func selected() *selection {
	if s := current.Load(); s != nil {
		return s
	}
	initOnce.Do(func() {
		s := choose(os.Getenv(EnvVar), loadOpenBLAS)
		current.CompareAndSwap(nil, s)
	})
	return current.Load()
}

// byName returns the backend called name.
func byName(name string) (Backend, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "go":
		return goBackend{}, nil
	case "openblas":
		ob, err := loadOpenBLAS()
		if err != nil {
			return nil, err
		}
		return ob, nil
	}
	return nil, fmt.Errorf("blas: unknown backend %q (want openblas or go)", name)
}

// choose applies the selection rule to the value of EnvVar, with load standing in for
// loadOpenBLAS so that tests can simulate a machine without the library.
func choose(env string, load func() (*openBLAS, error)) *selection {
	env = strings.ToLower(strings.TrimSpace(env))
	switch env {
	case "go":
		return &selection{goBackend{}, EnvVar + "=go", nil}
	case "openblas":
		ob, err := load()
		if err != nil {
			return &selection{goBackend{}, EnvVar + "=openblas, but " + err.Error() + "; using go",
				fmt.Errorf("%s=openblas, but OpenBLAS cannot be used: %v (apt-get install libopenblas0, or unset %s)", EnvVar, err, EnvVar)}
		}
		return &selection{ob, EnvVar + "=openblas", nil}
	case "":
		// With an assembly micro-kernel the Go backend trains faster than OpenBLAS here (the
		// reference SimCLR step: 800 vs 640 images/s, alternating runs on the same machine):
		// it has no per-call cgo cost and shares the engine's goroutines. OpenBLAS stays the
		// choice on CPUs where only the portable Go kernel would run.
		if fastGoKernel() {
			return &selection{goBackend{}, "default: go (" + gemm.Kernels()[0].Name() + " micro-kernel; CONTRASTIVE_GEMM=openblas to use OpenBLAS)", nil}
		}
		ob, err := load()
		if err != nil {
			return &selection{goBackend{}, "default: " + err.Error() + "; using go", nil}
		}
		return &selection{ob, "default: openblas loaded (no SIMD Go micro-kernel on this CPU)", nil}
	}
	sel := choose("", load)
	sel.reason = fmt.Sprintf("%s=%q is not openblas or go; ", EnvVar, env) + sel.reason
	sel.err = fmt.Errorf("%s=%q names no GEMM backend (want openblas or go, or leave it unset)", EnvVar, env)
	return sel
}

// fastGoKernel reports whether this CPU runs one of the assembly micro-kernels.
func fastGoKernel() bool { return gemm.Fast() }
