package index

import (
	"math/rand/v2"
	"os"
	"testing"
)

// BenchmarkSearch times one 128-d query (k = 10) against 10k, 100k and 1M vectors, and a batch
// of 64 queries against 100k ("ms/query" is per query). The 1M case (512 MB of vectors) runs
// only with CONTRASTIVE_BENCH_1M=1.
func BenchmarkSearch(b *testing.B) {
	const d = 128
	cases := []struct {
		name    string
		n, q    int
		require string
	}{
		{"10k", 10_000, 1, ""},
		{"100k", 100_000, 1, ""},
		{"100k-batch64", 100_000, 64, ""},
		{"1M", 1_000_000, 1, "CONTRASTIVE_BENCH_1M"},
		{"1M-batch64", 1_000_000, 64, "CONTRASTIVE_BENCH_1M"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if c.require != "" && os.Getenv(c.require) == "" {
				b.Skipf("set %s=1 to run (needs %d MB)", c.require, c.n*d*4>>20)
			}
			x := syntheticIndex(b, c.n, d)
			rng := rand.New(rand.NewPCG(5, 5))
			q := make([]float32, c.q*d)
			for i := range q {
				q[i] = float32(rng.NormFloat64())
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := x.Search(q, 10); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N*c.q), "ms/query")
		})
	}
}

// syntheticIndex builds an index of n random unit vectors quickly (no ids map is needed).
func syntheticIndex(b testing.TB, n, d int) *Index {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	x := &Index{meta: Meta{Model: testModel, Dim: d}, vectors: make([]float32, n*d), labels: make([]int32, n), ids: make([]string, n)}
	for i := 0; i < n; i++ {
		row := x.vectors[i*d : (i+1)*d]
		for j := range row {
			row[j] = float32(rng.NormFloat64())
		}
		Normalize(row)
		x.labels[i] = -1
		x.ids[i] = "v" + itoa(i)
	}
	return x
}

func itoa(i int) string {
	var b [20]byte
	p := len(b)
	for {
		p--
		b[p] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	return string(b[p:])
}
