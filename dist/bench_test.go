package dist_test

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/internal/mpitest"
)

// benchEnv enables the communication measurements (they are not timed tests: they print).
const benchEnv = "CONTRASTIVE_BENCH_MPI"

// TestMeasureCollectives prints the all-reduce bandwidth (bytes handed to MPI_Allreduce per
// second; a ring moves 2(N−1)/N of them each way) and the all-gather time of SimCLR-sized
// embeddings on 2 ranks, over shared memory and over TCP on loopback. Run with
// CONTRASTIVE_BENCH_MPI=1 (under flock on a shared machine).
func TestMeasureCollectives(t *testing.T) {
	if !mpitest.Rank() {
		if os.Getenv(benchEnv) == "" {
			t.Skipf("a measurement, not a test: set %s=1 to run it", benchEnv)
		}
		for _, transport := range []struct {
			name string
			args []string
		}{{"shared memory", nil}, {"tcp", []string{"--mca", "btl", "self,tcp"}}} {
			out := mpitest.Run(t, mpitest.Job{NP: 2, Args: transport.args, Timeout: 5 * time.Minute})
			fmt.Printf("== %s\n", transport.name)
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, "MEASURE") {
					fmt.Println(strings.TrimSpace(l[strings.Index(l, "MEASURE")+8:]))
				}
			}
		}
		return
	}
	c := mpitest.Join(t)
	median := func(f func(), reps int) time.Duration {
		ts := make([]time.Duration, reps)
		for i := range ts {
			c.Barrier()
			t0 := time.Now()
			f()
			ts[i] = time.Since(t0)
		}
		sort.Slice(ts, func(a, b int) bool { return ts[a] < ts[b] })
		return ts[reps/2]
	}
	report := func(format string, args ...any) {
		if c.Rank() == 0 {
			t.Logf("MEASURE "+format, args...)
		}
	}
	for _, n := range []int{1 << 10, 1 << 14, 117664, 1 << 18, 1 << 20, 11 << 20 / 4 * 4} {
		buf := make([]float32, n)
		reps := max(5, min(200, (64<<20)/(4*n)))
		d := median(func() { c.AllReduce(buf) }, reps)
		report("all-reduce %9d floats (%7.2f MB): %8.3f ms, %7.0f MB/s", n, float64(4*n)/1e6, d.Seconds()*1e3, float64(4*n)/d.Seconds()/1e6)
	}
	for _, rows := range []int{256, 512, 2048} {
		const dim = 64
		src := make([]float32, rows*dim)
		dst := make([]float32, c.Size()*rows*dim)
		d := median(func() { c.AllGather(dst, src) }, 50)
		report("all-gather %4d x %d per rank: %.3f ms", rows, dim, d.Seconds()*1e3)
	}
	tiny := make([]float64, 65)
	d := median(func() { c.AllReduce64(tiny) }, 200)
	report("all-reduce of 65 float64 (a SyncBN statistic): %.1f µs", d.Seconds()*1e6)
	_ = dist.DefaultBucketBytes
}
