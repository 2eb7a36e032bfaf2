package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"

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
		mpi, err := dist.Library()
		if err != nil {
			mpi = "none (" + err.Error() + ")"
		}
		fmt.Fprintf(stdout, "MPI: %s\n", strings.ReplaceAll(mpi, "\n", "\n     "))
		return nil
	})
}

const version = "0.1.0-dev"
