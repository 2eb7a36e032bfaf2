// Command load is the loopback load test of issue 12: it serves a saved index (an ANN index of
// 1M items, say) with the serve package on 127.0.0.1, sends searches by vector (k = 10) from 64
// concurrent clients over HTTP keep-alive connections, and prints queries/s, latency
// percentiles, failures, the recall of the answers against the ground truth, and the memory
// of the process (server and clients; the clients hold only their request bodies).
//
//	go run ./bench/ann/load -index /tmp/a1m/ours-none.idx -dir /tmp/a1m [-clients 64] [-requests 100000] [-duration 60s]
//
// -dir holds queries.npy and truth.npy as bench/ann writes them (truth rows are row numbers,
// the ids of its indexes).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/index"
	"github.com/contrastive-go/contrastive/serve"
)

func main() {
	path := flag.String("index", "", "index file to serve")
	dir := flag.String("dir", "", "directory with queries.npy and truth.npy")
	clients := flag.Int("clients", 64, "concurrent clients")
	requests := flag.Int("requests", 100_000, "requests to send")
	duration := flag.Duration("duration", 2*time.Minute, "stop sending after this long")
	ef := flag.Int("ef", 0, "ef-search (0: the file's)")
	flag.Parse()
	if err := run(*path, *dir, *clients, *requests, *duration, *ef); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func procKB(name string) float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, name) {
			f := strings.Fields(l)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	return 0
}

type reply struct {
	Results []struct {
		ID string `json:"id"`
	} `json:"results"`
}

func run(path, dir string, clients, requests int, duration time.Duration, ef int) error {
	qa, err := data.ReadNPYFile(filepath.Join(dir, "queries.npy"))
	if err != nil {
		return err
	}
	ta, err := data.ReadNPYFile(filepath.Join(dir, "truth.npy"))
	if err != nil {
		return err
	}
	nq, d, k := qa.Shape[0], qa.Shape[1], ta.Shape[1]
	bodies := make([][]byte, nq)
	for i := range bodies {
		bodies[i], _ = json.Marshal(map[string]any{"vector": qa.Data[i*d : (i+1)*d], "k": k})
	}
	runtime.GC()
	before := procKB("VmRSS:")
	t0 := time.Now()
	st, err := index.OpenStore(path, index.StoreOptions{EfSearch: ef})
	if err != nil {
		return err
	}
	open := time.Since(t0)
	runtime.GC()
	opened := procKB("VmRSS:")
	stats := st.Stats()
	srv, err := serve.New(st, nil, serve.Options{})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	var (
		issued, failed, hits, answered atomic.Int64
		mu                             sync.Mutex
		lat                            []time.Duration
		firstErr                       atomic.Value
		wg                             sync.WaitGroup
	)
	deadline := time.Now().Add(duration)
	begin := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				i := int(issued.Add(1)) - 1
				if i >= requests {
					break
				}
				q := i % nq
				t := time.Now()
				res, err := client.Post(url+"/v1/search", "application/json", bytes.NewReader(bodies[q]))
				var r reply
				if err == nil {
					err = json.NewDecoder(res.Body).Decode(&r)
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if err == nil && (res.StatusCode != 200 || len(r.Results) != k) {
						err = fmt.Errorf("status %d, %d results", res.StatusCode, len(r.Results))
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				mine = append(mine, time.Since(t))
				want := ta.Data[q*k : (q+1)*k]
				for _, h := range r.Results {
					if row, err := strconv.Atoi(h.ID); err == nil && slices.Contains(want, float32(row)) {
						hits.Add(1)
					}
				}
				answered.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	rss, hwm := procKB("VmRSS:"), procKB("VmHWM:")
	var metrics string
	if res, err := http.Get(url + "/metrics"); err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "contrastive_ann_recall_estimate") || strings.HasPrefix(l, "contrastive_search_batches_total") || strings.HasPrefix(l, "contrastive_search_queries_total") {
				metrics += l + "; "
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		return err
	}
	srv.Close()
	if len(lat) == 0 {
		return fmt.Errorf("no request completed (first error: %v)", firstErr.Load())
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	out := map[string]any{"what": "load", "index": path, "items": st.Len(), "kind": stats.Kind, "quantize": stats.Quantize, "ef_search": stats.EfSearch,
		"clients": clients, "requests": len(lat) + int(failed.Load()), "failed": failed.Load(), "first_error": firstErr.Load(),
		"seconds": elapsed.Seconds(), "qps": float64(len(lat)) / elapsed.Seconds(),
		"p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": pct(1),
		"recall_at_k":  float64(hits.Load()) / float64(max(1, answered.Load())*int64(k)),
		"open_seconds": open.Seconds(), "rss_opened_bytes": opened, "rss_index_bytes_per_item": (opened - before) / float64(st.Len()),
		"rss_end_bytes": rss, "rss_peak_bytes": hwm, "rss_file_end_bytes": procKB("RssFile:"), "gomaxprocs": runtime.GOMAXPROCS(0), "metrics": metrics}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
	if failed.Load() > 0 {
		return fmt.Errorf("%d requests failed; the first: %v", failed.Load(), firstErr.Load())
	}
	return nil
}
