// Command ann benchmarks the index package's approximate search (HNSW, with and without sq8)
// against exact search on the vectors of a .npy file, and writes the ground truth and the
// split it used so that peers.py can measure hnswlib and faiss on the very same data:
//
//	go run ./bench/ann -vectors base.npy -out /tmp/annbench [-queries 1000] [-m 16] [-efc 200] [-ef 16,32,64,128,256]
//	    [-rows N] [-exact-queries 200]
//
// The built indexes are saved in -out as ours-exact.idx, ours-none.idx and ours-sq8.idx; with -index, the
// command only searches one of them (a saved index, the queries and truth of -out), so that
// runs can alternate with the peers' without rebuilding:
//
//	go run ./bench/ann -index /tmp/annbench/ours-none.idx -out /tmp/annbench [-ef 16] [-cpuprofile f]
//
// The last -queries rows are the queries (held out of the index). The index is built on
// GOMAXPROCS goroutines; queries run one at a time on one core (GOMAXPROCS 1), as the peers'
// single-threaded runs do. It prints one JSON line per measurement.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/index"
)

func main() {
	vecPath := flag.String("vectors", "", "float32 [N, D] .npy of vectors")
	out := flag.String("out", "/tmp/annbench", "directory for base.npy, queries.npy, truth.npy (for peers.py)")
	nq := flag.Int("queries", 1000, "held-out query rows (the last ones)")
	m := flag.Int("m", 16, "HNSW M")
	efc := flag.Int("efc", 200, "HNSW ef-construction")
	efs := flag.String("ef", "16,32,64,128,256", "ef-search values")
	quant := flag.String("quantize", "none,sq8", "variants")
	load := flag.String("index", "", "search this saved index (with -out's queries and truth) instead of building")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the searches (with -index)")
	passes := flag.Int("passes", 10, "passes over the queries (with -index)")
	maxQ := flag.Int("max-queries", 0, "search only the first this many queries (with -index; 0: all)")
	rows := flag.Int("rows", 0, "use only the first this many rows of -vectors (0: all), the last -queries of them as queries")
	exactQ := flag.Int("exact-queries", 200, "queries timed by exact search on one core (0: none)")
	flag.Parse()
	if *load != "" {
		if err := searchSaved(*load, *out, *efs, *prof, *passes, *maxQ); err != nil {
			fmt.Fprintln(os.Stderr, "ann:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*vecPath, *out, *nq, *m, *efc, *efs, *quant, *rows, *exactQ); err != nil {
		fmt.Fprintln(os.Stderr, "ann:", err)
		os.Exit(1)
	}
}

func emit(v map[string]any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func rss() float64 { return procField("/proc/self/status", "VmRSS:") }

// procField reads a "Name: N kB" line of a /proc file, in bytes.
func procField(path, name string) float64 {
	b, _ := os.ReadFile(path)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, name) {
			f := strings.Fields(l)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	return 0
}

func run(vecPath, out string, nq, m, efc int, efs, quant string, rows, exactQ int) error {
	a, err := data.ReadNPYFile(vecPath)
	if err != nil {
		return err
	}
	if len(a.Shape) != 2 {
		return fmt.Errorf("%s: want a 2-d array", vecPath)
	}
	n, d := a.Shape[0], a.Shape[1]
	if rows > 0 && rows < n {
		n = rows
	}
	if nq <= 0 || nq >= n {
		return fmt.Errorf("-queries %d: want between 1 and the %d rows less one", nq, n)
	}
	v := a.Data[:n*d]
	for i := 0; i < n; i++ {
		index.Normalize(v[i*d : (i+1)*d])
	}
	nb := n - nq
	base, queries := v[:nb*d], v[nb*d:]
	os.MkdirAll(out, 0o755)
	if err := data.WriteNPYFile(filepath.Join(out, "base.npy"), base, nb, d); err != nil {
		return err
	}
	if err := data.WriteNPYFile(filepath.Join(out, "queries.npy"), queries, nq, d); err != nil {
		return err
	}
	x, _ := index.New(index.Meta{Model: index.Fingerprint([]byte("bench")), Dim: d})
	ids := make([]string, nb)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
	}
	if _, _, err := x.Add(index.Batch{Vectors: base, IDs: ids}); err != nil {
		return err
	}
	const k = 10
	// Ground truth, exact, all cores; then exact queries/s on one core, one query at a time.
	start := time.Now()
	truth, err := x.Search(queries, k)
	if err != nil {
		return err
	}
	tr := make([]float32, nq*k)
	for i, hs := range truth {
		for j, h := range hs {
			tr[i*k+j] = float32(h.Row)
		}
	}
	if err := data.WriteNPYFile(filepath.Join(out, "truth.npy"), tr, nq, k); err != nil {
		return err
	}
	emit(map[string]any{"what": "truth", "n": nb, "d": d, "queries": nq, "seconds": time.Since(start).Seconds()})
	procs := runtime.GOMAXPROCS(0)
	if ne := min(nq, exactQ); ne > 0 {
		runtime.GOMAXPROCS(1)
		start = time.Now()
		for i := 0; i < ne; i++ {
			if _, err := x.Search(queries[i*d:(i+1)*d], k); err != nil {
				return err
			}
		}
		emit(map[string]any{"what": "exact", "qps": float64(ne) / time.Since(start).Seconds(), "bytes_per_vector": 4*d + 4})
		runtime.GOMAXPROCS(procs)
	}
	if err := x.Save(filepath.Join(out, "ours-exact.idx")); err != nil {
		return err
	}
	// One graph for every variant: sq8 only adds codes to it (Index.Quantize).
	debug.FreeOSMemory()
	before := rss()
	start = time.Now()
	cpu0 := processCPU()
	if _, _, err := x.BuildANN(index.ANNOptions{Kind: index.KindHNSW, M: m, EfConstruction: efc, Log: os.Stderr}); err != nil {
		return err
	}
	graph := time.Since(start).Seconds()
	emit(map[string]any{"what": "graph", "m": m, "efc": efc, "seconds": graph, "cpu_seconds": processCPU() - cpu0, "threads": procs, "n": nb})
	for _, q := range strings.Split(quant, ",") {
		start = time.Now()
		if err := x.Quantize(q); err != nil {
			return err
		}
		build := graph + time.Since(start).Seconds()
		debug.FreeOSMemory()
		s := index.NewMemStore(x, index.StoreOptions{})
		st := s.Stats()
		if err := x.Save(filepath.Join(out, "ours-"+q+".idx")); err != nil {
			return err
		}
		emit(map[string]any{"what": "build", "quantize": q, "m": m, "efc": efc, "seconds": build, "threads": procs,
			"bytes_per_vector_est": st.BytesPerVector, "rss_growth_per_vector": (rss() - before) / float64(nb), "quantize_seconds": build - graph})
		runtime.GOMAXPROCS(1)
		for _, e := range strings.Split(efs, ",") {
			ef, _ := strconv.Atoi(e)
			hit := 0
			start = time.Now()
			for i := 0; i < nq; i++ {
				rs, err := s.Search(queries[i*d:(i+1)*d], k, index.SearchOptions{Ef: ef})
				if err != nil {
					return err
				}
				want := map[string]bool{}
				for _, h := range truth[i] {
					want[ids[h.Row]] = true
				}
				for _, r := range rs[0] {
					if want[r.ID] {
						hit++
					}
				}
			}
			el := time.Since(start).Seconds()
			emit(map[string]any{"what": "ours", "quantize": q, "m": m, "ef": ef, "recall": float64(hit) / float64(nq*k), "qps": float64(nq) / el})
		}
		runtime.GOMAXPROCS(procs)
	}
	return nil
}
