package eval

import (
	"fmt"
	"math"

	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/parallel"
)

// Defaults of the weighted kNN protocol (InstDisc / lightly / solo-learn).
const (
	DefaultK = 200
	DefaultT = 0.1
)

// maxSimBlock bounds the similarity block of KNN (queries × bank) to 2²⁴ float32 (64 MiB).
const maxSimBlock = 1 << 24

// KNNOptions configures KNN. The zero value is the project's protocol: k = 200, T = 0.1.
type KNNOptions struct {
	// K is the number of neighbours (default 200). When the bank has fewer rows, all are used.
	K int
	// T is the temperature of the weights exp(sim/T) (default 0.1).
	T float64
	// Classes is the number of classes C; 0 means one more than the largest label seen.
	Classes int
	// ExcludeSelf says that query q is bank row q (queries are the bank, or its first rows), so
	// bank row q is never a neighbour of query q: leave-one-out kNN on a single set.
	ExcludeSelf bool
	// Exclude, when not nil, names for each query a bank row that must not be its neighbour (-1
	// for none), for queries drawn from the bank at arbitrary rows. Not with ExcludeSelf.
	Exclude []int
	// BlockSize is the number of queries whose similarities to the whole bank are computed by one
	// GEMM (default 512, lowered so that a block holds at most 2²⁴ similarities).
	BlockSize int
	// KeepNeighbors fills KNNResult.Neighbors and KNNResult.Sims.
	KeepNeighbors bool
}

// KNNResult is the outcome of KNN for Q queries and C classes.
type KNNResult struct {
	K       int // neighbours per query actually used: min(K, bank rows)
	Classes int // C

	// Predictions[q] is argmax_c Scores[q, c] (the lowest class wins a tie).
	Predictions []int
	// Scores is [Q, C] row-major: Scores[q*C+c] = Σ exp(sim/T) over the neighbours of q labelled c.
	// (Only when 1/T > 700, where exp(sim/T) would overflow, every weight of a query is divided by
	// exp(s₁/T), s₁ its top similarity; predictions are unchanged.)
	Scores []float64
	// Top1 and Top5 are the fractions of queries whose label is the prediction, and whose label is
	// among the 5 classes with the highest scores (ties to the lower class). Both are NaN when
	// no query labels were given.
	Top1, Top5 float64

	// Neighbors is [Q, K] row-major: bank rows by decreasing similarity (ties to the lower row),
	// -1 where a query has fewer than K candidates. Sims holds the matching cosine similarities.
	// Both are nil unless KNNOptions.KeepNeighbors.
	Neighbors []int
	Sims      []float32
}

// KNN is the weighted k-nearest-neighbour classifier of instance discrimination (Wu, Xiong, Yu
// and Lin, "Unsupervised Feature Learning via Non-Parametric Instance Discrimination", CVPR 2018),
// in the form used by lightly's and solo-learn's kNN monitors. With every row L2-normalised,
// x ↦ x / max(‖x‖₂, 1e-12), and s_qj = x̂_q · b̂_j the cosine similarity of query q and bank row j,
//
//	N_k(q)      = the k bank rows with the largest s_qj
//	score(q, c) = Σ_{j ∈ N_k(q), y_j = c} exp(s_qj / T)
//	ŷ_q         = argmax_c score(q, c)
//
// Arguments: bank [M, D] and bankLabels (M labels in [0, C)) are the memory bank, usually the
// training split; queries [Q, D] are classified; queryLabels (Q labels, or nil) are only used to
// compute Top1 and Top5. Defaults k = 200, T = 0.1 (see KNNOptions).
//
// Similarities are computed by blas.Sgemm in blocks of queries × the whole bank, so memory stays
// bounded (at most 64 MiB of similarities) whatever Q; the top k are selected with a bounded heap
// (O(M log k) per query, no full sort) and queries are processed in parallel.
//
//	res, err := eval.KNN(trainH, trainY, testH, testY, eval.KNNOptions{})
//	if err != nil { ... }
//	fmt.Printf("kNN top-1 %.3f top-5 %.3f\n", res.Top1, res.Top5)
func KNN(bank Features, bankLabels []int, queries Features, queryLabels []int, opt KNNOptions) (*KNNResult, error) {
	bank.check("KNN")
	queries.check("KNN")
	k, t := opt.K, opt.T
	if k == 0 {
		k = DefaultK
	}
	if t == 0 {
		t = DefaultT
	}
	switch {
	case k < 0:
		return nil, fmt.Errorf("eval: kNN: k = %d must be positive", k)
	case !(t > 0) || math.IsInf(t, 0):
		return nil, fmt.Errorf("eval: kNN: temperature T = %v must be positive", t)
	case opt.Classes < 0:
		return nil, fmt.Errorf("eval: kNN: Classes = %d must not be negative", opt.Classes)
	case bank.N == 0:
		return nil, fmt.Errorf("eval: kNN: empty memory bank")
	case bank.D != queries.D:
		return nil, fmt.Errorf("eval: kNN: bank is [%d, %d] but queries are [%d, %d]: feature sizes differ",
			bank.N, bank.D, queries.N, queries.D)
	}
	classes, err := checkLabels("kNN bank", bankLabels, bank.N, opt.Classes)
	if err != nil {
		return nil, err
	}
	if queryLabels != nil {
		cq, err := checkLabels("kNN queries", queryLabels, queries.N, opt.Classes)
		if err != nil {
			return nil, err
		}
		classes = max(classes, cq)
	}
	exclude, err := knnExclusions(opt, bank.N, queries.N)
	if err != nil {
		return nil, err
	}
	k = min(k, bank.N)

	q, c := queries.N, classes
	res := &KNNResult{K: k, Classes: c, Predictions: make([]int, q), Scores: make([]float64, q*c),
		Top1: math.NaN(), Top5: math.NaN()}
	if opt.KeepNeighbors {
		res.Neighbors = make([]int, q*k)
		res.Sims = make([]float32, q*k)
	}
	if q == 0 {
		return res, nil
	}

	bn := bank.Normalized()
	qn := queries.Normalized()
	block := opt.BlockSize
	if block <= 0 {
		block = 512
	}
	block = max(1, min(block, maxSimBlock/bank.N, q))
	sims := make([]float32, block*bank.N)
	for lo := 0; lo < q; lo += block {
		b := min(block, q-lo)
		s := sims[:b*bank.N]
		// s[b×M] = Q̂[lo:lo+b] · B̂ᵀ
		blas.Sgemm(false, true, b, bank.N, bank.D, 1, qn.Data[lo*qn.D:], qn.D, bn.Data, bn.D, 0, s, bank.N)
		parallel.For(b, 4, func(rlo, rhi int) {
			top := newTopK(k)
			for r := rlo; r < rhi; r++ {
				qi := lo + r
				ex := -1
				if exclude != nil {
					ex = exclude[qi]
				}
				top.reset()
				top.scan(s[r*bank.N:(r+1)*bank.N], ex)
				idx, sv := top.sorted()
				if opt.KeepNeighbors {
					row := res.Neighbors[qi*k : (qi+1)*k]
					srow := res.Sims[qi*k : (qi+1)*k]
					copy(row, idx)
					copy(srow, sv)
					for j := len(idx); j < k; j++ {
						row[j], srow[j] = -1, float32(math.NaN())
					}
				}
				res.Predictions[qi] = vote(res.Scores[qi*c:(qi+1)*c], idx, sv, bankLabels, t)
			}
		})
	}
	if queryLabels != nil {
		res.Top1, res.Top5 = topAccuracy(res.Scores, c, queryLabels)
	}
	return res, nil
}

// knnExclusions resolves ExcludeSelf / Exclude into one bank row per query (or nil).
func knnExclusions(opt KNNOptions, m, q int) ([]int, error) {
	switch {
	case opt.ExcludeSelf && opt.Exclude != nil:
		return nil, fmt.Errorf("eval: kNN: set ExcludeSelf or Exclude, not both")
	case opt.ExcludeSelf:
		if q > m {
			return nil, fmt.Errorf("eval: kNN: ExcludeSelf with %d queries but only %d bank rows", q, m)
		}
		ex := make([]int, q)
		for i := range ex {
			ex[i] = i
		}
		return ex, nil
	case opt.Exclude != nil:
		if len(opt.Exclude) != q {
			return nil, fmt.Errorf("eval: kNN: %d exclusions for %d queries", len(opt.Exclude), q)
		}
		for i, j := range opt.Exclude {
			if j < -1 || j >= m {
				return nil, fmt.Errorf("eval: kNN: exclusion %d of query %d is not a bank row (-1 or [0, %d))", j, i, m)
			}
		}
		return opt.Exclude, nil
	}
	return nil, nil
}

// vote adds exp(sim/T) of each neighbour to its class's score and returns the winning class
// (lowest index on ties).
func vote(scores []float64, idx []int, sims []float32, labels []int, t float64) int {
	shift := 0.0
	if 1/t > 700 && len(sims) > 0 {
		shift = float64(sims[0])
	}
	for j, i := range idx {
		scores[labels[i]] += math.Exp((float64(sims[j]) - shift) / t)
	}
	best := 0
	for c, v := range scores {
		if v > scores[best] {
			best = c
		}
	}
	return best
}

// topAccuracy returns top-1 and top-5 accuracy of [Q, C] scores; a class ranks before another
// when its score is higher, or equal with a lower index.
func topAccuracy(scores []float64, c int, labels []int) (top1, top5 float64) {
	var h1, h5 int
	for q, y := range labels {
		row := scores[q*c : (q+1)*c]
		rank := 0
		for j, v := range row {
			if v > row[y] || (v == row[y] && j < y) {
				rank++
			}
		}
		if rank == 0 {
			h1++
		}
		if rank < 5 {
			h5++
		}
	}
	n := float64(len(labels))
	return float64(h1) / n, float64(h5) / n
}

// topK keeps the k best (similarity, row) pairs seen so far in a min-heap whose root is the worst:
// lower similarity, or equal similarity and higher row. Rows are scanned in increasing order, so a
// later row never displaces an equal earlier one.
type topK struct {
	k   int
	sim []float32
	idx []int
}

func newTopK(k int) *topK {
	return &topK{k: k, sim: make([]float32, 0, k), idx: make([]int, 0, k)}
}

func (h *topK) reset() { h.sim, h.idx = h.sim[:0], h.idx[:0] }

// worse reports whether entry a ranks below entry b.
func (h *topK) worse(a, b int) bool {
	return h.sim[a] < h.sim[b] || (h.sim[a] == h.sim[b] && h.idx[a] > h.idx[b])
}

func (h *topK) swap(a, b int) {
	h.sim[a], h.sim[b] = h.sim[b], h.sim[a]
	h.idx[a], h.idx[b] = h.idx[b], h.idx[a]
}

func (h *topK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.worse(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *topK) down(i, n int) {
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.worse(r, l) {
			m = r
		}
		if !h.worse(m, i) {
			return
		}
		h.swap(i, m)
		i = m
	}
}

// scan offers every row of sims except skip (NaN similarities are ignored). Once the heap is
// full, a row only costs one comparison with the current k-th best similarity.
func (h *topK) scan(sims []float32, skip int) {
	j := 0
	for ; j < len(sims) && len(h.sim) < h.k; j++ {
		if s := sims[j]; j != skip && s == s {
			h.sim = append(h.sim, s)
			h.idx = append(h.idx, j)
			h.up(len(h.sim) - 1)
		}
	}
	if len(h.sim) < h.k {
		return
	}
	thr := h.sim[0]
	for ; j < len(sims); j++ {
		// Strictly greater: an equal similarity keeps the earlier (lower) row; NaN never passes.
		if s := sims[j]; s > thr && j != skip {
			h.sim[0], h.idx[0] = s, j
			h.down(0, h.k)
			thr = h.sim[0]
		}
	}
}

// sorted heap-sorts the kept entries in place, best first, and returns them.
func (h *topK) sorted() ([]int, []float32) {
	for n := len(h.sim) - 1; n > 0; n-- {
		h.swap(0, n) // the worst of h[0:n+1] goes to the back
		h.down(0, n)
	}
	return h.idx, h.sim
}
