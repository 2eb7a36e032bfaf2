package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/contrastive-go/contrastive/blas"
)

func init() {
	register("version", "print the version, Go runtime and GEMM backend", func(args []string, stdout, stderr io.Writer) error {
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
		return nil
	})
}

const version = "0.1.0-dev"
