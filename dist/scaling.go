package dist

import (
	"fmt"
	"strings"
)

// The communication of a data-parallel step, for planning a job (the README's table): per rank
// and step, in bytes, with the bandwidth terms only (each collective also pays its latency: a
// few microseconds over shared memory, tens over TCP, times log₂ N or N − 1 steps).

// RingAllReduceBytes is what each rank sends, and receives, in a ring all-reduce of a buffer of
// the given bytes over n ranks: 2(n−1)/n of it (a reduce-scatter, then an all-gather, of n−1
// steps each moving 1/n of the buffer).
func RingAllReduceBytes(n int, bytes float64) float64 {
	return 2 * float64(n-1) / float64(n) * bytes
}

// GatherNegativesBytes is what each rank receives and sends for SimCLR's global negatives with
// a global batch of batch images, views views each, embedded in dim float32s: the forward pass
// gathers every rank's rows, (n−1)/n of the views·batch·dim floats, and the backward pass sums
// the gradient of the gathered matrix over the ranks, an all-reduce of all of it.
func GatherNegativesBytes(n, batch, views, dim int) float64 {
	all := 4 * float64(views*batch*dim)
	return float64(n-1)/float64(n)*all + RingAllReduceBytes(n, all)
}

// ScalingTable is the markdown table of a model's communication per step for ranks = 2, 4, ...,
// 64: the gradient all-reduce (params float32 gradients) and SimCLR's gathered negatives (global
// batch, 2 views, embeddings of dim), in MB per rank, and the time they take at 1, 10 and 25
// Gb/s.
func ScalingTable(params, batch, dim int) string {
	var b strings.Builder
	b.WriteString("| processes | gradient all-reduce, MB/rank | gathered negatives, MB/rank | at 1 Gb/s | at 10 Gb/s | at 25 Gb/s |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|\n")
	for n := 2; n <= 64; n *= 2 {
		ar := RingAllReduceBytes(n, 4*float64(params))
		g := GatherNegativesBytes(n, batch, 2, dim)
		ms := func(gbps float64) string { return fmt.Sprintf("%.1f ms", (ar+g)*8/(gbps*1e9)*1e3) }
		fmt.Fprintf(&b, "| %d | %.2f | %.2f | %s | %s | %s |\n", n, ar/1e6, g/1e6, ms(1), ms(10), ms(25))
	}
	return b.String()
}
