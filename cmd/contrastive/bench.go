package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/contrastive-go/contrastive/bench"
	"github.com/contrastive-go/contrastive/blas"
)

func init() {
	register("bench", "time the reference SimCLR step (images/s) and GEMM (GFLOP/s)", runBench)
}

type benchResult struct {
	Bench          string             `json:"bench"`
	ImagesPerSec   float64            `json:"images_per_s"`
	SecondsPerStep float64            `json:"seconds_per_step"`
	Batch          int                `json:"batch"`
	Params         int                `json:"params"`
	Data           string             `json:"data"`
	GEMMBackend    string             `json:"gemm_backend"`
	GEMMDescribe   string             `json:"gemm_describe"`
	GEMMGFLOPS     float64            `json:"gemm_gflops"`
	GEMM           []bench.GEMMResult `json:"gemm"`
	Threads        int                `json:"threads"`
	Load1          float64            `json:"load1"`
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "bench [--steps 8 --warmup 2 --batch 256] [--gemm go|openblas] [--json]", stderr)
	var stepsV, warmupV, batchV int
	steps, warmup, batch := &stepsV, &warmupV, &batchV
	intFlag(fs, steps, "steps", 8, positiveInt, "timed steps (the median is reported)")
	intFlag(fs, warmup, "warmup", 2, nonNegInt, "untimed warm-up steps")
	intFlag(fs, batch, "batch", 256, atLeast(2), "images per step (each gives two views)")
	backend := fs.String("gemm", "", "force a GEMM backend: "+fmt.Sprint(blas.Available()))
	jsonOut := fs.Bool("json", false, "print the result as JSON on stdout")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *backend != "" {
		if err := blas.Use(*backend); err != nil {
			return err
		}
	}
	res := benchResult{Bench: "simclr_step", GEMMBackend: blas.Default().Name(), GEMMDescribe: blas.Describe(), Threads: bench.Threads(), Load1: bench.Load1()}
	for _, s := range [][3]int{{1024, 1152, 256}, {2048, 2048, 2048}} {
		res.GEMM = append(res.GEMM, bench.GEMM(s[0], s[1], s[2], 5))
	}
	res.GEMMGFLOPS = res.GEMM[len(res.GEMM)-1].GFLOPS
	st, err := bench.NewStep(*batch)
	if err != nil {
		return err
	}
	r := st.Measure(*steps, *warmup)
	res.ImagesPerSec, res.SecondsPerStep, res.Batch, res.Params, res.Data = r.ImagesPerSec, r.SecondsPerStep, r.Batch, r.Params, r.Data
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "GEMM backend: %s\n", res.GEMMDescribe)
	for _, g := range res.GEMM {
		fmt.Fprintf(stdout, "  sgemm %dx%dx%d: %.1f GFLOP/s\n", g.M, g.K, g.N, g.GFLOPS)
	}
	fmt.Fprintf(stdout, "SimCLR step, reference model (%d parameters), %d images x 2 views (%s):\n", res.Params, res.Batch, res.Data)
	fmt.Fprintf(stdout, "  %.3f s/step, %.0f images/s  (%d threads, load %.2f)\n", res.SecondsPerStep, res.ImagesPerSec, res.Threads, res.Load1)
	fmt.Fprintln(stdout, "compare: ../shared/bench/torch_ref.py step")
	return nil
}
