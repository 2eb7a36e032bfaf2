package index

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/contrastive-go/contrastive/blas"
)

// Hit is one search result: a row of the index and its cosine similarity to the query.
type Hit struct {
	Row   int
	Score float32
}

// MaxQueries bounds the number of queries of one Search call (the size of its score buffers).
const MaxQueries = 4096

// blockRows is the number of index rows scored by one GEMM: the block (512 KiB at d = 128) and
// its scores (256 KiB at 64 queries) stay in L2 while they are used. 1024 measured better than
// 4096 and 16384 on the 2-core development machine, with the natural GEMM orientation (scores =
// Q·Xᵀ) better than the transposed one for batches.
const blockRows = 1024

// Search returns, for each of the q = len(queries)/Dim queries (row-major), the k rows of the
// index with the highest cosine similarity, best first (ties by lower row). Queries are
// L2-normalised on a copy; a zero query scores 0 against everything. k larger than the index
// is cut to its length. The scores are exact: every row is scored, by one GEMM per block of
// rows, with the blocks spread over GOMAXPROCS goroutines.
func (x *Index) Search(queries []float32, k int) ([][]Hit, error) {
	d := x.meta.Dim
	if len(queries) == 0 || len(queries)%d != 0 {
		return nil, fmt.Errorf("search: %d floats is not a whole number of %d-d queries", len(queries), d)
	}
	nq := len(queries) / d
	if nq > MaxQueries {
		return nil, fmt.Errorf("search: %d queries, over the limit of %d per call", nq, MaxQueries)
	}
	if k < 1 {
		return nil, fmt.Errorf("search: k must be at least 1, got %d", k)
	}
	for i, v := range queries {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("search: query %d has a non-finite value", i/d)
		}
	}
	n := x.Len()
	k = min(k, n)
	out := make([][]Hit, nq)
	if k == 0 {
		for i := range out {
			out[i] = []Hit{}
		}
		return out, nil
	}
	q := slices.Clone(queries)
	for i := 0; i < nq; i++ {
		Normalize(q[i*d : (i+1)*d])
	}
	hits := exactSearch([]block{{x.vectors, 0}}, d, q, k, nil)
	runtime.KeepAlive(x) // x.vectors may be a map of the file, removed with x
	return hits, nil
}

// block is a run of rows of the vector store and the index of its first row.
type block struct {
	rows  []float32
	first int
}

// exactSearch scores the unit queries q against every row of blocks and returns each query's
// k best hits (rows for which skip is true left out), best first. Rows are scored by one GEMM
// per blockRows of them, spread over GOMAXPROCS goroutines.
func exactSearch(blocks []block, d int, q []float32, k int, skip func(int) bool) [][]Hit {
	nq := len(q) / d
	var parts []block
	for _, b := range blocks {
		n := len(b.rows) / d
		for lo := 0; lo < n; lo += blockRows {
			hi := min(n, lo+blockRows)
			parts = append(parts, block{b.rows[lo*d : hi*d], b.first + lo})
		}
	}
	out := make([][]Hit, nq)
	workers := min(runtime.GOMAXPROCS(0), len(parts))
	// Worker w scores parts w, w+workers, ... into its own heaps; the heaps are merged at the end.
	heaps := make([][]topK, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			hs := make([]topK, nq)
			for i := range hs {
				hs[i] = newTopK(k)
				hs[i].skip = skip
			}
			scores := make([]float32, nq*blockRows)
			for b := w; b < len(parts); b += workers {
				p := parts[b]
				rows := len(p.rows) / d
				// scores[nq×rows] = Q[nq×d] · X[rows]ᵀ
				blas.Sgemm(false, true, nq, rows, d, 1, q, d, p.rows, d, 0, scores, rows)
				for i := range hs {
					hs[i].scan(scores[i*rows:(i+1)*rows], p.first)
				}
			}
			heaps[w] = hs
		}(w)
	}
	wg.Wait()
	for i := range out {
		var all []Hit
		for w := 0; w < workers; w++ {
			all = append(all, heaps[w][i].h...)
		}
		slices.SortFunc(all, func(a, b Hit) int {
			if better(a, b) {
				return -1
			}
			if better(b, a) {
				return 1
			}
			return 0
		})
		out[i] = slices.Clip(all[:min(k, len(all))])
		if out[i] == nil {
			out[i] = []Hit{}
		}
	}
	return out
}

// better orders hits: higher score first, then lower row.
func better(a, b Hit) bool {
	return a.Score > b.Score || (a.Score == b.Score && a.Row < b.Row)
}

// topK is a bounded min-heap holding the k best hits seen so far; h[0] is the worst of them.
type topK struct {
	k    int
	h    []Hit
	skip func(int) bool // rows left out (tombstones); nil: none
}

func newTopK(k int) topK { return topK{k: k, h: make([]Hit, 0, k)} }

// scan offers the scores of rows base, base+1, ... to the heap.
func (t *topK) scan(scores []float32, base int) {
	i := 0
	for ; i < len(scores) && len(t.h) < t.k; i++ {
		if t.skip == nil || !t.skip(base+i) {
			t.push(Hit{Row: base + i, Score: scores[i]})
		}
	}
	if i == len(scores) {
		return
	}
	worst := t.h[0].Score
	for ; i < len(scores); i++ {
		s := scores[i]
		// Rows arrive in increasing order, so an equal score never beats the heap's worst.
		if s > worst && (t.skip == nil || !t.skip(base+i)) {
			t.h[0] = Hit{Row: base + i, Score: s}
			t.down(0)
			worst = t.h[0].Score
		}
	}
}

func (t *topK) push(h Hit) {
	t.h = append(t.h, h)
	j := len(t.h) - 1
	for j > 0 {
		p := (j - 1) / 2
		if !better(t.h[p], t.h[j]) {
			break
		}
		t.h[p], t.h[j] = t.h[j], t.h[p]
		j = p
	}
}

func (t *topK) down(i int) {
	n := len(t.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		worst := l
		if r := l + 1; r < n && better(t.h[l], t.h[r]) {
			worst = r
		}
		if !better(t.h[i], t.h[worst]) {
			return
		}
		t.h[i], t.h[worst] = t.h[worst], t.h[i]
		i = worst
	}
}
