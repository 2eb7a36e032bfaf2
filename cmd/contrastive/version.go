package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/dist"
)

func init() {
	register("version", "print the version, Go runtime, GEMM backend and the MPI libraries found", func(args []string, stdout, stderr io.Writer) error {
		fs := newFlags("version", "version [--gemm]", stderr)
		gemm := fs.Bool("gemm", false, "print only the GEMM backend's name")
		if err := parse(fs, args); err != nil {
			return err
		}
		if *gemm {
			fmt.Fprintln(stdout, blas.Default().Name())
			return nil
		}
		fmt.Fprintf(stdout, "contrastive %s (%s, %s/%s, %d threads)\nGEMM backend: %s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), blas.Describe())
		fmt.Fprintf(stdout, "convolutions: %s\n", precisionLine())
		mpi, err := dist.Library()
		if err != nil {
			mpi = "none (" + err.Error() + ")"
		}
		fmt.Fprintf(stdout, "MPI: %s\n", strings.ReplaceAll(mpi, "\n", "\n     "))
		return nil
	})
}

const version = "0.1.0-dev"

// precisionLine says which precision the convolutions use by default and whether bf16 is here.
func precisionLine() string {
	p := autodiff.EnvPrecision()
	switch {
	case p == "bf16":
		return "bf16 (CONTRASTIVE_PRECISION=bf16)"
	case autodiff.CheckPrecision("bf16") == nil:
		return fmt.Sprintf("fp32 (this CPU has AVX512_BF16: --precision bf16 or CONTRASTIVE_PRECISION=bf16 for bfloat16 products, which measure %.2fx float32's speed here)", autodiff.BF16Speedup())
	}
	return "fp32 (no AVX512_BF16 on this CPU)"
}
