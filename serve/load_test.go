package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contrastive-go/contrastive/index"
)

// randomIndex is an index of n random d-dimensional unit vectors.
func randomIndex(t testing.TB, n, d int) *index.Index {
	idx, err := index.New(index.Meta{Model: testModel, Dim: d})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b := index.Batch{Vectors: make([]float32, n*d), IDs: make([]string, n)}
	for i := range b.Vectors {
		b.Vectors[i] = float32(rng.NormFloat64())
	}
	for i := range b.IDs {
		b.IDs[i] = fmt.Sprintf("v%06d", i)
	}
	if _, _, err := idx.Add(b); err != nil {
		t.Fatal(err)
	}
	return idx
}

// TestLoadSearch100k sends a fixed number of searches by vector (k = 10) from 64 concurrent
// clients over loopback to an index of 100k 128-d vectors, stopping at the request count or the
// time cap, and reports QPS and latency percentiles. Every request must succeed.
func TestLoadSearch100k(t *testing.T) {
	const (
		n, d     = 100_000, 128
		clients  = 64
		requests = 2000
		timeCap  = 30 * time.Second
	)
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	srv, err := New(index.NewMemStore(randomIndex(t, n, d), index.StoreOptions{}), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	url, _ := start(t, srv)
	client := &http.Client{Timeout: timeCap, Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	bodies := make([][]byte, 64)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range bodies {
		v := make([]float32, d)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		bodies[i], _ = json.Marshal(map[string]any{"vector": v, "k": 10})
	}
	var (
		issued, failed atomic.Int64
		mu             sync.Mutex
		lat            []time.Duration
		firstErr       atomic.Value
		wg             sync.WaitGroup
	)
	deadline := time.Now().Add(timeCap)
	begin := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				i := issued.Add(1)
				if i > requests {
					break
				}
				t0 := time.Now()
				res, err := client.Post(url+"/v1/search", "application/json", bytes.NewReader(bodies[int(i)%len(bodies)]))
				if err == nil {
					var r searchReply
					err = json.NewDecoder(res.Body).Decode(&r)
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if err == nil && (res.StatusCode != 200 || len(r.Results) != 10) {
						err = fmt.Errorf("status %d, %d results", res.StatusCode, len(r.Results))
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	elapsed := time.Since(begin)
	if f := failed.Load(); f > 0 {
		t.Errorf("%d requests failed; the first: %v", f, firstErr.Load())
	}
	if len(lat) == 0 {
		t.Fatal("no request completed")
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	capped := ""
	if len(lat)+int(failed.Load()) < requests {
		capped = " (stopped by the time cap)"
	}
	t.Logf("search over %d %d-d vectors, %d clients: %d requests in %.2fs%s = %.0f QPS; latency p50 %.1f ms, p99 %.1f ms, max %.1f ms; %.1f searches per pass over the index",
		n, d, clients, len(lat), elapsed.Seconds(), capped, float64(len(lat))/elapsed.Seconds(),
		ms(pct(0.50)), ms(pct(0.99)), ms(lat[len(lat)-1]), float64(srv.searcher.queries.Load())/float64(max(1, srv.searcher.batches.Load())))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
