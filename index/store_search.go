package index

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
)

// Result is one search hit of a Store: the item and its cosine similarity to the query.
type Result struct {
	ID    string
	Score float32
	Label string // the class name, "" when unknown
}

// SearchOptions tune one Store search.
type SearchOptions struct {
	Exact bool // score every item, even when the store has a graph
	Ef    int  // candidates of the graph search (default: the store's ef-search; at least k)
}

// Search returns, for each of the len(queries)/Dim queries, the k live items most similar to
// it, best first: by the HNSW graph when the store has one (walked on sq8 codes when it has
// them, the candidates then re-ranked by their float32 vectors) unless o.Exact, else by
// scoring every item. Queries are L2-normalised on a copy. Deleted items are never returned.
func (s *Store) Search(queries []float32, k int, o SearchOptions) ([][]Result, error) {
	st := s.cur.Load()
	d := st.meta.Dim
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
	for i := 0; i < nq; i++ {
		if !finite(queries[i*d : (i+1)*d]) {
			return nil, fmt.Errorf("search: query %d has a non-finite value", i)
		}
	}
	n := st.vec.Len()
	var skip func(int) bool
	if st.dead.Len() > 0 {
		skip = st.dead.has
	}
	if st.ann == nil || o.Exact {
		q := slices.Clone(queries)
		for i := 0; i < nq; i++ {
			normalizeRow(q[i*d : (i+1)*d])
		}
		var blocks []block
		st.vec.segments(n, func(rows []float32, first int) { blocks = append(blocks, block{rows, first}) })
		hits := exactSearch(blocks, d, q, min(k, max(n, 1)), skip)
		runtime.KeepAlive(st) // blocks may be a map of the file, removed with st's rows
		out := make([][]Result, nq)
		for i, hs := range hits {
			out[i] = st.results(hs)
		}
		return out, nil
	}
	ef := st.ann.efSearch
	if s.opt.EfSearch > 0 {
		ef = s.opt.EfSearch
	}
	if o.Ef > 0 {
		ef = o.Ef
	}
	ef = max(ef, k)
	out := make([][]Result, nq)
	one := func(i int) {
		b := getBuf(n)
		b.q = append(b.q[:0], queries[i*d:(i+1)*d]...)
		normalizeRow(b.q)
		out[i] = st.results(st.annSearch(b.q, k, ef, skip, b))
		searchBufs.Put(b)
	}
	defer runtime.KeepAlive(st) // its rows may be a map of the file, removed with st
	if nq == 1 {
		one(0)
		return out, nil
	}
	var wg sync.WaitGroup
	next := make(chan int, nq)
	for i := 0; i < nq; i++ {
		next <- i
	}
	close(next)
	for w := 0; w < min(nq, runtime.GOMAXPROCS(0)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				one(i)
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// finite reports whether every value of v is finite: then Σ v², summed in float64 (where the
// squares of float32s cannot overflow), is finite.
func finite(v []float32) bool {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return !math.IsNaN(s) && !math.IsInf(s, 0)
}

// normalizeRow scales v to unit length in place, with Normalize's arithmetic (a zero vector
// stays zero).
func normalizeRow(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	inv := 1 / math.Max(math.Sqrt(s), 1e-12)
	for j, x := range v {
		v[j] = float32(float64(x) * inv)
	}
}

// annSearch is the graph search of one unit query in the scratch space b: the k best of ef
// candidates, best first, re-ranked by the float32 vectors when the graph was walked on sq8
// codes. The hits are b.hits, valid until b is used again.
func (st *storeState) annSearch(q []float32, k, ef int, skip func(int) bool, b *searchBuf) []Hit {
	a := st.ann
	var res []scored
	if a.sq != nil {
		sc := a.sq.scorer(q, b.qs, a.codes)
		b.qs = sc.qs
		res = a.graph.searchWith(sc, ef, skip, b)
		for i := range res {
			res[i].s = dot(q, st.vec.row(int(res[i].id)))
		}
	} else {
		res = a.graph.searchWith(floatScorer{q, st.vec}, ef, skip, b)
	}
	hits := b.hits[:0]
	for _, r := range res {
		hits = append(hits, Hit{Row: int(r.id), Score: r.s})
	}
	slices.SortFunc(hits, compareHits)
	b.hits = hits
	return hits[:min(k, len(hits))]
}

// compareHits orders hits best first (higher score, then lower row).
func compareHits(a, b Hit) int {
	switch {
	case better(a, b):
		return -1
	case better(b, a):
		return 1
	}
	return 0
}

func (st *storeState) results(hs []Hit) []Result {
	cl := *st.classes.Load()
	out := make([]Result, len(hs))
	for i, h := range hs {
		out[i] = Result{ID: st.ids.at(h.Row), Score: h.Score}
		if l := st.labels.at(h.Row); l >= 0 {
			out[i].Label = cl[l]
		}
	}
	return out
}

// Stats describe a Store.
type Stats struct {
	Items       int    // live items
	Rows        int    // rows held, deleted ones included until compaction
	Tombstones  int    // deleted rows not yet reclaimed
	LogRecords  int    // records in the update log (folded in by the next compaction)
	Segments    int    // 1 (the index file) + 1 when the log holds records
	Compactions int64  // compactions since the store was opened
	Kind        string // KindHNSW or KindExact
	Quantize    string
	M           int
	EfSearch    int
	Dim         int
	// BytesPerVector is the memory one item takes (vectors, codes, graph lists, id and
	// label), estimated from the structures; MemoryBytes is Rows times it. Vectors mapped
	// from the file (sq8, see mapped.go) are not in it but in MappedBytesPerVector: page
	// cache, which the kernel reclaims under pressure.
	BytesPerVector       float64
	MappedBytesPerVector float64
	MemoryBytes          int64
	Mapped               bool // the file's vectors are mapped, not in memory
}

// Stats returns the store's counts and its estimated memory use.
func (s *Store) Stats() Stats {
	st := s.cur.Load()
	n := st.vec.Len()
	t := Stats{Rows: n, Tombstones: st.dead.Len(), Kind: KindExact, Quantize: QuantizeNone, Dim: st.meta.Dim, Compactions: s.compactions.Load()}
	t.Items = n - t.Tombstones
	s.wmu.Lock() // logRecs is the writers'
	t.LogRecords = st.logRecs
	s.wmu.Unlock()
	t.Segments = 1
	if t.LogRecords > 0 {
		t.Segments = 2
	}
	var idBytes float64
	for i := 0; i < min(n, 1000); i++ {
		idBytes += float64(len(st.ids.at(i)))
	}
	if n > 0 {
		idBytes /= float64(min(n, 1000))
	}
	d := float64(st.meta.Dim)
	// Vectors, labels, id string headers and bytes, and the id → row map (~ 2 words per entry
	// plus the key header, at Go's map load).
	t.BytesPerVector = 4*d + 4 + 16 + idBytes + 48
	if st.vec.keep != nil && n > 0 {
		// The file's rows are a map of it; appended rows are in memory.
		t.Mapped = true
		t.MappedBytesPerVector = 4 * d * float64(st.vec.nbase) / float64(n)
		t.BytesPerVector -= t.MappedBytesPerVector
	}
	if a := st.ann; a != nil {
		g := a.graph
		t.Kind, t.M, t.EfSearch = KindHNSW, g.m, a.efSearch
		if s.opt.EfSearch > 0 {
			t.EfSearch = s.opt.EfSearch
		}
		// Level 0 list, level byte, mutex, upper-list header, and the upper lists: a node is
		// on level ≥ l with probability M^−l, so Σ_l M^−l = 1/(M−1) lists of 1 + M slots.
		t.BytesPerVector += 4*float64(1+g.m0) + 1 + 8 + 24 + 4*float64(1+g.m)/float64(g.m-1)
		if a.sq != nil {
			t.Quantize = QuantizeSQ8
			t.BytesPerVector += d
		}
	}
	t.MemoryBytes = int64(t.BytesPerVector * float64(n))
	return t
}

// Len is the number of live items.
func (s *Store) Len() int {
	st := s.cur.Load()
	return st.vec.Len() - st.dead.Len()
}

// Dim is the vector dimension.
func (s *Store) Dim() int { return s.cur.Load().meta.Dim }

// Meta describes the store's vectors (with the class names known now).
func (s *Store) Meta() Meta {
	st := s.cur.Load()
	m := st.meta
	m.Classes = slices.Clone(*st.classes.Load())
	return m
}

// Model is the fingerprint of the model that made the vectors.
func (s *Store) Model() string { return s.cur.Load().meta.Model }

// Has reports whether a live item has this id (a snapshot: writers may change it).
func (s *Store) Has(id string) bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, ok := s.cur.Load().rows[id]
	return ok
}

// Kind is KindHNSW when the store has a graph, else KindExact.
func (s *Store) Kind() string {
	if s.cur.Load().ann != nil {
		return KindHNSW
	}
	return KindExact
}

// AddIndex adds every row of x (vectors, ids, labels) to the store.
func (s *Store) AddIndex(x *Index) (int, error) {
	if x.Len() == 0 {
		return 0, nil
	}
	labels := make([]int, x.Len())
	for i := range labels {
		labels[i] = x.Label(i)
	}
	return s.Add(Batch{Vectors: x.vectors, IDs: x.ids, Labels: labels, Classes: x.meta.Classes})
}
