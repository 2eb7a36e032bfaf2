package index

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// clustered returns n unit vectors of dimension d around c cluster centres (a fixed seed):
// centre directions plus Gaussian noise of relative size spread, the structure of embeddings
// rather than uniform noise.
func clustered(n, d, c int, spread float64, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	centres := make([]float64, c*d)
	for i := range centres {
		centres[i] = rng.NormFloat64()
	}
	v := make([]float32, n*d)
	for i := 0; i < n; i++ {
		k := rng.IntN(c)
		for j := 0; j < d; j++ {
			v[i*d+j] = float32(centres[k*d+j] + spread*rng.NormFloat64())
		}
		Normalize(v[i*d : (i+1)*d])
	}
	return v
}

// exactTopK is the brute-force top k of q over the rows of v.
func exactTopK(v []float32, d int, q []float32, k int) []uint32 {
	n := len(v) / d
	all := make([]scored, n)
	for i := 0; i < n; i++ {
		all[i] = scored{dotGo(q, v[i*d:(i+1)*d]), uint32(i)}
	}
	slices.SortFunc(all, func(a, b scored) int {
		if a.s > b.s {
			return -1
		}
		if a.s < b.s {
			return 1
		}
		return 0
	})
	out := make([]uint32, k)
	for i := range out {
		out[i] = all[i].id
	}
	return out
}

// recallAt is the mean fraction of the true top k found in got.
func recallAt(truth, got [][]uint32) float64 {
	var hit, all int
	for i := range truth {
		set := map[uint32]bool{}
		for _, id := range got[i] {
			set[id] = true
		}
		for _, id := range truth[i] {
			if set[id] {
				hit++
			}
		}
		all += len(truth[i])
	}
	return float64(hit) / float64(all)
}

func topIDs(res []scored, k int) []uint32 {
	res = sortDesc(res)
	out := make([]uint32, 0, k)
	for _, r := range res[:min(k, len(res))] {
		out = append(out, r.id)
	}
	return out
}

func TestHNSWRecallOnClusteredVectors(t *testing.T) {
	n, d := 50_000, 64
	if testing.Short() || raceEnabled {
		n = 8_000
	}
	v := clustered(n, d, 100, 0.35, 1)
	g := newHNSW(HNSWConfig{Seed: 1}, newChunked(d, v))
	start := time.Now()
	g.build(0, n, 0, nil)
	t.Logf("built %d×%d in %v", n, d, time.Since(start))
	q := clustered(200, d, 100, 0.35, 1) // same centres, new points
	q = clustered(n+200, d, 100, 0.35, 1)[n*d:]
	var truth, got [][]uint32
	start = time.Now()
	for i := 0; i < 200; i++ {
		qi := q[i*d : (i+1)*d]
		got = append(got, topIDs(g.search(floatScorer{qi, g.vec}, DefaultEfSearch, nil), 10))
	}
	el := time.Since(start)
	for i := 0; i < 200; i++ {
		truth = append(truth, exactTopK(v, d, q[i*d:(i+1)*d], 10))
	}
	r := recallAt(truth, got)
	t.Logf("recall@10 %.4f at ef %d, %.1f µs/query", r, DefaultEfSearch, float64(el.Microseconds())/200)
	if r < 0.95 || math.IsNaN(r) {
		t.Errorf("recall@10 %.4f < 0.95", r)
	}
}

func TestANNSectionRoundTripsAndSearchesAlike(t *testing.T) {
	for _, quant := range []string{QuantizeNone, QuantizeSQ8} {
		x := randomIndex(t, 3000, 16, 3)
		if kind, why, err := x.BuildANN(ANNOptions{Kind: KindHNSW, M: 8, EfConstruction: 40, Quantize: quant}); err != nil || kind != KindHNSW || why == "" {
			t.Fatalf("BuildANN: %q %q %v", kind, why, err)
		}
		b := encode(t, x)
		y, err := Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if y.Kind() != KindHNSW || (y.ann.sq != nil) != (quant == QuantizeSQ8) {
			t.Fatalf("%s: read back kind %s, sq8 %v", quant, y.Kind(), y.ann.sq != nil)
		}
		if again := encode(t, y); !bytes.Equal(again, b) {
			t.Fatalf("%s: the file does not write back byte for byte", quant)
		}
		for i := 0; i < 20; i++ {
			q := x.Vector(i * 100)
			a := topIDs(x.ann.graph.search(floatScorer{q, x.ann.graph.vec}, 20, nil), 5)
			c := topIDs(y.ann.graph.search(floatScorer{q, y.ann.graph.vec}, 20, nil), 5)
			if !slices.Equal(a, c) || a[0] != uint32(i*100) {
				t.Fatalf("%s: query %d: %v before, %v after the round trip", quant, i, a, c)
			}
		}
	}
}

// TestQuantizeAddsAndDropsCodesOnTheSameGraph: Quantize(sq8) after a plain build gives the
// bytes BuildANN with sq8 gives (same seed, one worker: the same graph), and back to none drops
// the codes; bad values are refused.
func TestQuantizeAddsAndDropsCodesOnTheSameGraph(t *testing.T) {
	x := randomIndex(t, 2000, 16, 5)
	y := randomIndex(t, 2000, 16, 5)
	opt := ANNOptions{Kind: KindHNSW, M: 8, EfConstruction: 40, Workers: 1, Seed: 3}
	if _, _, err := x.BuildANN(opt); err != nil {
		t.Fatal(err)
	}
	opt.Quantize = QuantizeSQ8
	if _, _, err := y.BuildANN(opt); err != nil {
		t.Fatal(err)
	}
	plain := encode(t, x)
	if err := x.Quantize(QuantizeSQ8); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, x), encode(t, y)) {
		t.Fatal("Quantize(sq8) after the build does not give the file BuildANN with sq8 gives")
	}
	if err := x.Quantize(QuantizeNone); err != nil || !bytes.Equal(encode(t, x), plain) {
		t.Fatalf("Quantize(none): %v, or the file differs from the plain build", err)
	}
	if err := x.Quantize("pq"); err == nil {
		t.Error("Quantize(pq) accepted")
	}
	z := randomIndex(t, 100, 16, 6)
	if err := z.Quantize(QuantizeSQ8); err == nil {
		t.Error("Quantize(sq8) accepted on an exact index")
	}
}

// A graph search in a warm scratch buffer allocates nothing: the greedy descent of the upper
// levels once allocated its score arrays (they escaped through the scorer interface) on every
// level of every query.
func TestGraphSearchDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	n, d := 3000, 32
	v := clustered(n+1, d, 20, 0.35, 3)
	g := newHNSW(HNSWConfig{Seed: 1}, newChunked(d, v[:n*d]))
	g.build(0, n, 0, nil)
	if top := int(g.entry.Load() & 0xff); top < 1 {
		t.Fatalf("the graph has no upper level (top %d): the test would not walk one", top)
	}
	var sc scorer = floatScorer{v[n*d:], g.vec}
	b := getBuf(n)
	defer searchBufs.Put(b)
	g.searchWith(sc, 16, nil, b) // grows b's slices
	if a := testing.AllocsPerRun(50, func() { g.searchWith(sc, 16, nil, b) }); a != 0 {
		t.Fatalf("a search allocates %.1f times", a)
	}
}
