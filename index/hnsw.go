package index

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// HNSW is a hierarchical navigable small-world graph (Malkov & Yashunin, "Efficient and robust
// approximate nearest neighbor search using Hierarchical Navigable Small World graphs", 2018),
// following hnswlib's algorithm over the rows of a vector store, with similarity s(a, b) = a·b
// (cosine: the rows are unit length).
//
// Node i is row i. Its level is ⌊−ln(u)·mL⌋ with u uniform in (0, 1] and mL = 1/ln(M); on every
// level up to its own it keeps at most M neighbours (2M on level 0), chosen by the heuristic of
// the paper's Algorithm 4 (hnswlib's getNeighborsByHeuristic2: a candidate is kept only if it is
// closer to the node than to every neighbour kept before it). Insertion descends greedily from
// the entry point to the node's level, then on each level below searches with efConstruction
// candidates, links the node to the heuristic's M and links back, pruning a full list by the
// same heuristic. Search descends greedily to level 1 and searches level 0 with max(ef, k)
// candidates.
//
// Inserts may run concurrently (each node's lists are guarded by its own mutex; the entry point
// by a global one) and so may searches during inserts: neighbour lists are read and written
// with atomic loads and stores, so a search sees each list either before or after an update.
type HNSW struct {
	m, m0, efC int
	mult       float64
	seed       uint64
	vec        *chunked[float32]

	nodes   atomic.Pointer[[]*nodeChunk]
	growMu  sync.Mutex
	entryMu sync.Mutex
	entry   atomic.Uint64 // node<<8 | max level; entryNone when empty
}

const entryNone = math.MaxUint64

// nodeChunk holds the graph of chunkRows consecutive nodes.
type nodeChunk struct {
	level  []uint8
	links0 []uint32   // per node 1 + m0 slots: the count, then the neighbours
	upper  [][]uint32 // per node, levels 1..level, each 1 + m slots
	mu     []sync.Mutex
}

// HNSWConfig are the graph's parameters.
type HNSWConfig struct {
	M              int    // neighbours per node on levels ≥ 1; 2M on level 0 (default 16)
	EfConstruction int    // candidates searched when inserting (default 200)
	Seed           uint64 // seeds the node levels
}

// Default graph parameters, hnswlib's M and ef_construction.
const (
	DefaultM              = 16
	DefaultEfConstruction = 200
	DefaultEfSearch       = 64
)

func (c *HNSWConfig) defaults() {
	if c.M <= 0 {
		c.M = DefaultM
	}
	if c.EfConstruction <= 0 {
		c.EfConstruction = DefaultEfConstruction
	}
}

func newHNSW(cfg HNSWConfig, vec *chunked[float32]) *HNSW {
	cfg.defaults()
	g := &HNSW{m: cfg.M, m0: 2 * cfg.M, efC: max(cfg.EfConstruction, cfg.M), mult: 1 / math.Log(float64(max(cfg.M, 2))), seed: cfg.Seed, vec: vec}
	g.nodes.Store(&[]*nodeChunk{})
	g.entry.Store(entryNone)
	return g
}

// Config returns the graph's parameters.
func (g *HNSW) Config() HNSWConfig { return HNSWConfig{M: g.m, EfConstruction: g.efC, Seed: g.seed} }

// randomLevel is node i's level, from a hash of (seed, i): ⌊−ln(u)·mL⌋.
func (g *HNSW) randomLevel(i int) int {
	z := g.seed + uint64(i)*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	u := (float64(z>>11) + 1) / (1 << 53) // (0, 1]
	return min(int(-math.Log(u)*g.mult), 30)
}

// chunk returns node i's chunk and its offset there, allocating chunks up to it.
func (g *HNSW) chunk(i int) (*nodeChunk, int) {
	cs := *g.nodes.Load()
	if i>>chunkShift >= len(cs) {
		g.growMu.Lock()
		cs = *g.nodes.Load()
		// The level-0 lists of all the new chunks come from one allocation, so that a graph
		// read or built at once lies on huge pages (a chunk's 2 MiB alone rarely holds one).
		grow := i>>chunkShift + 1 - len(cs)
		per := chunkRows * (1 + g.m0)
		var slab []uint32
		if grow > 0 {
			slab = make([]uint32, grow*per)
			adviseHuge(slab)
		}
		for k := 0; i>>chunkShift >= len(cs); k++ {
			c := &nodeChunk{level: make([]uint8, chunkRows), links0: slab[k*per : (k+1)*per : (k+1)*per],
				upper: make([][]uint32, chunkRows), mu: make([]sync.Mutex, chunkRows)}
			cs = append(cs[:len(cs):len(cs)], c)
			g.nodes.Store(&cs)
		}
		g.growMu.Unlock()
	}
	return cs[i>>chunkShift], i & (chunkRows - 1)
}

// links returns node i's neighbour list on level l: slot 0 the count, then the neighbours.
func (g *HNSW) links(i, l int) []uint32 {
	c := (*g.nodes.Load())[i>>chunkShift]
	o := i & (chunkRows - 1)
	if l == 0 {
		return c.links0[o*(1+g.m0) : (o+1)*(1+g.m0)]
	}
	u := c.upper[o]
	return u[(l-1)*(1+g.m) : l*(1+g.m)]
}

func (g *HNSW) level(i int) int {
	c := (*g.nodes.Load())[i>>chunkShift]
	return int(c.level[i&(chunkRows-1)])
}

// scored is a node and its similarity to a query.
type scored struct {
	s  float32
	id uint32
}

// scorer computes similarities of a query to nodes: exactly, or from sq8 codes.
type scorer interface {
	score(id uint32) float32
	// scoreBatch sets out[j] to the score of ids[j]. It first asks for all the rows (prefetch),
	// so that their cache misses overlap: the search is bound by memory latency, not
	// arithmetic. Prefetching them all measured 1.32× the queries/s of no prefetch on 69k
	// Fashion-MNIST embeddings (M 16, ef 16), against 1.11× for one row ahead and 1.28× for
	// four ahead.
	scoreBatch(ids []uint32, out []float32)
}

type floatScorer struct {
	q   []float32
	vec *chunked[float32]
}

func (f floatScorer) score(id uint32) float32 { return dot(f.q, f.vec.row(int(id))) }

func (f floatScorer) scoreBatch(ids []uint32, out []float32) {
	out = out[:len(ids)]
	bytes := 4 * len(f.q)
	if len(ids) > 0 && f.vec.inBase(ids) { // the rows of the file: one call for each loop
		prefetchRows(rowAddr(f.vec.base), bytes, &ids[0], len(ids), bytes)
		dotRows(f.q, f.vec.base, ids, out)
		return
	}
	for _, id := range ids {
		prefetch(rowAddr(f.vec.row(int(id))), bytes)
	}
	for j, id := range ids {
		out[j] = dot(f.q, f.vec.row(int(id)))
	}
}

// rowAddr is the address of a row's first element, for prefetch.
func rowAddr[T any](r []T) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(r))) }

// searchBuf is the scratch space of one search: the visited marks and the two heaps.
type searchBuf struct {
	visited []uint16
	tag     uint16
	cand    []scored // max-heap by s: the candidates to expand
	res     []scored // min-heap by s: the best ef found
	ids     []uint32 // the unvisited neighbours of the node being expanded
	scores  []float32
	q, qs   []float32 // the Store's normalised query and its sq8 form
	hits    []Hit
}

var searchBufs sync.Pool

func getBuf(n int) *searchBuf {
	b, _ := searchBufs.Get().(*searchBuf)
	if b == nil {
		b = &searchBuf{}
	}
	b.newTag(n)
	return b
}

// newTag starts a new search over n nodes: every node unvisited.
func (b *searchBuf) newTag(n int) {
	if len(b.visited) < n {
		b.visited = make([]uint16, n+n/4+1024)
		adviseHuge(b.visited)
		b.tag = 0
	}
	b.tag++
	if b.tag == 0 {
		clear(b.visited)
		b.tag = 1
	}
}

func (b *searchBuf) visit(id uint32) bool {
	if int(id) >= len(b.visited) {
		grown := make([]uint16, int(id)*5/4+1024)
		copy(grown, b.visited)
		b.visited = grown
	}
	if b.visited[id] == b.tag {
		return false
	}
	b.visited[id] = b.tag
	return true
}

// Heaps on []scored: maxPush/maxPop keep the largest s at [0], minPush/minPop the smallest.

func maxPush(h []scored, x scored) []scored {
	h = append(h, x)
	j := len(h) - 1
	for j > 0 {
		p := (j - 1) / 2
		if h[p].s >= h[j].s {
			break
		}
		h[p], h[j] = h[j], h[p]
		j = p
	}
	return h
}

func maxPop(h []scored) []scored {
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && h[r].s > h[l].s {
			c = r
		}
		if h[i].s >= h[c].s {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	return h
}

func minPush(h []scored, x scored) []scored {
	h = append(h, x)
	j := len(h) - 1
	for j > 0 {
		p := (j - 1) / 2
		if h[p].s <= h[j].s {
			break
		}
		h[p], h[j] = h[j], h[p]
		j = p
	}
	return h
}

func minPop(h []scored) []scored {
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && h[r].s < h[l].s {
			c = r
		}
		if h[i].s <= h[c].s {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	return h
}

// searchLayer is the paper's Algorithm 2 on level l from the entry ep: it returns (in b.res, a
// min-heap) the ef best nodes found. Nodes for which skip is true are walked through but not
// returned. The visited marks of an expanded node's neighbours are prefetched, the unvisited
// ones scored together (scoreBatch prefetches their rows first), and the neighbour list of the
// best candidate is prefetched whenever the candidates change (1.06× the queries/s on the
// 69k set, 1.02× for the visited marks).
func (g *HNSW) searchLayer(sc scorer, ep scored, ef, l int, b *searchBuf, skip func(int) bool) {
	b.cand = b.cand[:0]
	b.res = b.res[:0]
	b.visit(ep.id)
	b.cand = maxPush(b.cand, ep)
	if skip == nil || !skip(int(ep.id)) {
		b.res = minPush(b.res, ep)
	}
	for len(b.cand) > 0 {
		c := b.cand[0]
		if len(b.res) >= ef && c.s < b.res[0].s {
			break
		}
		b.cand = maxPop(b.cand)
		ls := g.links(int(c.id), l)
		n := int(atomic.LoadUint32(&ls[0]))
		if n > 0 {
			prefetchU16s(rowAddr(b.visited), &ls[1], n)
		}
		ids := b.ids[:0]
		for j := 1; j <= n; j++ {
			if nb := atomic.LoadUint32(&ls[j]); b.visit(nb) {
				ids = append(ids, nb)
			}
		}
		b.ids = ids
		if len(b.scores) < len(ids) {
			b.scores = make([]float32, max(len(ids), g.m0))
		}
		scores := b.scores[:len(ids)]
		sc.scoreBatch(ids, scores)
		for j, nb := range ids {
			s := scores[j]
			if len(b.res) < ef || s > b.res[0].s {
				b.cand = maxPush(b.cand, scored{s, nb})
				// As hnswlib does: ask for the list of the node to expand next.
				nl := g.links(int(b.cand[0].id), l)
				prefetch(rowAddr(nl), 4*len(nl))
				if skip == nil || !skip(int(nb)) {
					b.res = minPush(b.res, scored{s, nb})
					if len(b.res) > ef {
						b.res = minPop(b.res)
					}
				}
			}
		}
	}
}

// greedy walks level l from ep to a local maximum of the similarity (ef = 1). It scores the
// lists in b's scratch slices: arrays of MaxM on its own stack escaped through the scorer
// interface, two 1 KiB allocations a level (13% of the CPU of a 69k-vector search at ef 16).
func (g *HNSW) greedy(sc scorer, ep scored, l int, b *searchBuf) scored {
	for changed := true; changed; {
		changed = false
		ls := g.links(int(ep.id), l)
		n := min(int(atomic.LoadUint32(&ls[0])), MaxM)
		ids := b.ids[:0]
		for j := 0; j < n; j++ {
			ids = append(ids, atomic.LoadUint32(&ls[1+j]))
		}
		b.ids = ids
		if len(b.scores) < n {
			b.scores = make([]float32, max(n, g.m0))
		}
		scores := b.scores[:n]
		sc.scoreBatch(ids, scores)
		for j, s := range scores {
			if s > ep.s {
				ep, changed = scored{s, ids[j]}, true
			}
		}
	}
	return ep
}

// search returns the ef best nodes for the query (unordered), skipping nodes for which skip
// is true, in a slice the caller owns.
func (g *HNSW) search(sc scorer, ef int, skip func(int) bool) []scored {
	b := getBuf(g.vec.Len())
	out := append([]scored(nil), g.searchWith(sc, ef, skip, b)...)
	searchBufs.Put(b)
	return out
}

// searchWith is search in the scratch space b (from getBuf): the result is b.res, valid until b
// is put back or used again.
func (g *HNSW) searchWith(sc scorer, ef int, skip func(int) bool, b *searchBuf) []scored {
	e := g.entry.Load()
	if e == entryNone {
		return nil
	}
	node, top := uint32(e>>8), int(e&0xff)
	ep := scored{sc.score(node), node}
	for l := top; l > 0; l-- {
		ep = g.greedy(sc, ep, l, b)
	}
	b.newTag(g.vec.Len())
	g.searchLayer(sc, ep, ef, 0, b, skip)
	return b.res
}

// insert links node i (its row already in the store) into the graph.
func (g *HNSW) insert(i int) {
	c, o := g.chunk(i)
	level := g.randomLevel(i)
	c.mu[o].Lock()
	defer c.mu[o].Unlock()
	c.level[o] = uint8(level)
	if level > 0 {
		c.upper[o] = make([]uint32, level*(1+g.m))
	}
	// A node that may become the entry point holds the global lock for its whole insertion, as
	// in hnswlib, so that no other insert starts from a half-linked entry.
	g.entryMu.Lock()
	e := g.entry.Load()
	if e == entryNone {
		g.entry.Store(uint64(i)<<8 | uint64(level))
		g.entryMu.Unlock()
		return
	}
	if level > int(e&0xff) {
		defer g.entryMu.Unlock()
	} else {
		g.entryMu.Unlock()
	}
	node, top := uint32(e>>8), int(e&0xff)
	q := g.vec.row(i)
	sc := floatScorer{q, g.vec}
	ep := scored{sc.score(node), node}
	b := getBuf(g.vec.Len())
	defer searchBufs.Put(b)
	for l := top; l > level; l-- {
		ep = g.greedy(sc, ep, l, b)
	}
	for l := min(level, top); l >= 0; l-- {
		b.newTag(g.vec.Len())
		g.searchLayer(sc, ep, g.efC, l, b, nil)
		ep = g.connect(i, ep, l, b)
	}
	if level > top {
		g.entry.Store(uint64(i)<<8 | uint64(level))
	}
}

// connect links node i on level l to the heuristic's choice among b.res and links back; it
// returns the best of b.res, the entry for the next level down.
func (g *HNSW) connect(i int, ep scored, l int, b *searchBuf) scored {
	cands := sortDesc(b.res)
	for j := 0; j < len(cands); j++ { // never the node itself
		if int(cands[j].id) == i {
			cands = append(cands[:j], cands[j+1:]...)
			j--
		}
	}
	if len(cands) == 0 {
		return ep
	}
	best := cands[0]
	sel := g.selectNeighbors(cands, g.m)
	ls := g.links(i, l)
	for j, s := range sel {
		atomic.StoreUint32(&ls[1+j], s.id)
	}
	atomic.StoreUint32(&ls[0], uint32(len(sel)))
	maxM := g.m
	if l == 0 {
		maxM = g.m0
	}
	var tmp []scored
	for _, s := range sel {
		nb := int(s.id)
		if nb == i {
			continue
		}
		c := (*g.nodes.Load())[nb>>chunkShift]
		mu := &c.mu[nb&(chunkRows-1)]
		mu.Lock()
		nl := g.links(nb, l)
		n := int(atomic.LoadUint32(&nl[0]))
		if n < maxM {
			atomic.StoreUint32(&nl[1+n], uint32(i))
			atomic.StoreUint32(&nl[0], uint32(n+1))
		} else {
			v := g.vec.row(nb)
			tmp = tmp[:0]
			tmp = append(tmp, scored{s.s, uint32(i)})
			for j := 1; j <= n; j++ {
				id := atomic.LoadUint32(&nl[j])
				tmp = append(tmp, scored{dot(v, g.vec.row(int(id))), id})
			}
			tmp = sortDesc(tmp)
			keep := g.selectNeighbors(tmp, maxM)
			for j, k := range keep {
				atomic.StoreUint32(&nl[1+j], k.id)
			}
			atomic.StoreUint32(&nl[0], uint32(len(keep)))
		}
		mu.Unlock()
	}
	return best
}

// sortDesc drains a min-heap into a slice sorted by decreasing similarity (in place).
func sortDesc(h []scored) []scored {
	n := len(h)
	for k := n; k > 1; k-- {
		h[0], h[k-1] = h[k-1], h[0]
		minDown(h[:k-1])
	}
	return h[:n]
}

// minDown restores the min-heap property of h from the root.
func minDown(h []scored) {
	n := len(h)
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && h[r].s < h[l].s {
			c = r
		}
		if h[i].s <= h[c].s {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// selectNeighbors is the heuristic (Algorithm 4 without extension or kept pruned ones): from
// cands sorted by decreasing similarity to the base node, keep a candidate only if it is more
// similar to the base than to every candidate already kept, up to m. The kept ones are written
// over the start of cands and returned.
func (g *HNSW) selectNeighbors(cands []scored, m int) []scored {
	if len(cands) <= m {
		return cands
	}
	kept := cands[:0:len(cands)]
	for _, c := range cands {
		if len(kept) >= m {
			break
		}
		cv := g.vec.row(int(c.id))
		good := true
		for _, r := range kept {
			if dot(cv, g.vec.row(int(r.id))) > c.s {
				good = false
				break
			}
		}
		if good {
			kept = append(kept, c)
		}
	}
	return kept
}

// build inserts nodes from..to-1 with workers goroutines (GOMAXPROCS when workers ≤ 0);
// progress, when not nil, is called now and then with the number inserted.
func (g *HNSW) build(from, to, workers int, progress func(done int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if to <= from {
		return
	}
	g.chunk(to - 1)
	// The first node alone, so the others find an entry point.
	g.insert(from)
	var next, done atomic.Int64
	next.Store(int64(from + 1))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				g.insert(i)
				if d := done.Add(1); progress != nil && d%10000 == 0 {
					progress(int(d))
				}
			}
		}()
	}
	wg.Wait()
}
