package index

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// storeFile writes an index of n clustered d-d vectors (ids "v<i>", every third one labelled)
// at a new path, with a graph unless kind is exact, and returns the path and the vectors.
func storeFile(t testing.TB, n, d int, kind, quant string) (string, []float32) {
	t.Helper()
	v := clustered(n, d, 20, 0.4, 11)
	x, err := New(Meta{Model: testModel, Dim: d})
	if err != nil {
		t.Fatal(err)
	}
	b := Batch{Vectors: v, IDs: make([]string, n), Labels: make([]int, n), Classes: []string{"a", "b"}}
	for i := range b.IDs {
		b.IDs[i] = fmt.Sprintf("v%d", i)
		b.Labels[i] = i%3 - 1
	}
	if _, _, err := x.Add(b); err != nil {
		t.Fatal(err)
	}
	if _, _, err := x.BuildANN(ANNOptions{Kind: kind, M: 8, EfConstruction: 64, Quantize: quant}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "s.idx")
	if err := x.Save(path); err != nil {
		t.Fatal(err)
	}
	return path, v
}

func ids(rs []Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// searchAll asks every mode for q's top k.
func searchAll(t testing.TB, s *Store, q []float32, k int) map[string][]Result {
	out := map[string][]Result{}
	for name, o := range map[string]SearchOptions{"ann": {}, "exact": {Exact: true}} {
		r, err := s.Search(q, k, o)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = r[0]
	}
	return out
}

func TestStoreAddsDeletesCompactsAndReopens(t *testing.T) {
	for _, c := range []struct{ kind, quant string }{{KindHNSW, QuantizeNone}, {KindHNSW, QuantizeSQ8}, {KindExact, QuantizeNone}} {
		t.Run(c.kind+"-"+c.quant, func(t *testing.T) {
			const d = 16
			path, v := storeFile(t, 2000, d, c.kind, c.quant)
			s, err := OpenStore(path, StoreOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// New items, each found first by its own vector.
			nv := clustered(300, d, 20, 0.4, 12)
			b := Batch{Vectors: nv, IDs: make([]string, 300), Labels: make([]int, 300), Classes: []string{"new"}}
			for i := range b.IDs {
				b.IDs[i] = fmt.Sprintf("n%d", i)
			}
			if n, err := s.Add(b); err != nil || n != 300 {
				t.Fatalf("Add: %d, %v", n, err)
			}
			// An approximate search may miss an item now and then (a node the heuristic left
			// with few links); exact search never does. Deleted items never come back.
			check := func(stage string, s *Store, deleted map[string]bool) {
				t.Helper()
				misses := map[string]int{}
				tried := 0
				own := func(mode, id string, rs []Result) {
					if !deleted[id] && rs[0].ID != id {
						misses[mode]++
						if mode == "exact" {
							t.Fatalf("%s %s: %s is not its own nearest: %v", stage, mode, id, ids(rs))
						}
					}
				}
				for i := 0; i < 300; i += 7 {
					id := fmt.Sprintf("n%d", i)
					tried++
					for mode, rs := range searchAll(t, s, nv[i*d:(i+1)*d], 10) {
						own(mode, id, rs)
						if rs[0].ID == id && rs[0].Label != "new" {
							t.Fatalf("%s %s: %s has label %q", stage, mode, id, rs[0].Label)
						}
					}
				}
				for i := 0; i < 2000; i += 13 {
					id := fmt.Sprintf("v%d", i)
					tried++
					for mode, rs := range searchAll(t, s, v[i*d:(i+1)*d], 20) {
						for _, r := range rs {
							if deleted[r.ID] {
								t.Fatalf("%s %s: deleted %s came back for %s", stage, mode, r.ID, id)
							}
						}
						own(mode, id, rs)
					}
				}
				if misses["ann"] > tried/50 {
					t.Fatalf("%s: %d of %d items not found first by their own vector", stage, misses["ann"], tried)
				}
				if want := 2300 - len(deleted); s.Len() != want {
					t.Fatalf("%s: %d items, want %d", stage, s.Len(), want)
				}
			}
			check("after adds", s, nil)
			deleted := map[string]bool{}
			var del []string
			for i := 0; i < 2000; i += 3 {
				del = append(del, fmt.Sprintf("v%d", i))
			}
			for i := 0; i < 300; i += 5 {
				del = append(del, fmt.Sprintf("n%d", i))
			}
			for _, id := range del {
				deleted[id] = true
			}
			if n, err := s.Delete(append(del, "unknown")); err != nil || n != len(del) {
				t.Fatalf("Delete: %d of %d, %v", n, len(del), err)
			}
			check("after deletes", s, deleted)
			st := s.Stats()
			if st.Tombstones != len(del) || st.LogRecords != 300+len(del) || st.Segments != 2 {
				t.Fatalf("stats %+v", st)
			}
			// Reopened from file + log, then compacted, then reopened again.
			s.Close()
			if s, err = OpenStore(path, StoreOptions{}); err != nil {
				t.Fatal(err)
			}
			check("reopened", s, deleted)
			if err := s.Compact(); err != nil {
				t.Fatal(err)
			}
			if st := s.Stats(); st.Tombstones != 0 || st.LogRecords != 0 || st.Rows != 2300-len(del) || st.Kind != c.kind {
				t.Fatalf("after compaction: %+v", st)
			}
			check("compacted", s, deleted)
			s.Close()
			if s, err = OpenStore(path, StoreOptions{}); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			check("compacted and reopened", s, deleted)
		})
	}
}

func TestStoreRefusesACorruptLogNamingItAndDropsATornTail(t *testing.T) {
	path, _ := storeFile(t, 500, 8, KindHNSW, QuantizeNone)
	s, err := OpenStore(path, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := s.Add(Batch{Vectors: []float32{1, float32(i), 0, 0, 0, 0, 0, 1}, IDs: []string{fmt.Sprint("x", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	log, _ := os.ReadFile(LogPath(path))
	rec := (len(log) - 12 - len(encodeLogHeader(LogHeader{Format: 1, Dim: 8, FirstSeq: 1})) + 12) / 3

	// A flipped byte in the first record, with records after it: refused, naming the file.
	bad := bytes.Clone(log)
	bad[len(log)-2*rec-5] ^= 0x40
	os.WriteFile(LogPath(path), bad, 0o644)
	if _, err := OpenStore(path, StoreOptions{}); err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), LogPath(path)) {
		t.Fatalf("a corrupt log opened, or the error does not name it: %v", err)
	}
	// The last record cut short: dropped with a warning, the others kept.
	os.WriteFile(LogPath(path), log[:len(log)-7], 0o644)
	var warn bytes.Buffer
	s, err = OpenStore(path, StoreOptions{Log: &warn})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 502 || !strings.Contains(warn.String(), "dropped") || !s.Has("x1") || s.Has("x2") {
		t.Fatalf("torn tail: %d items, warning %q", s.Len(), warn.String())
	}
	// A new add goes after the good records, not after the torn bytes.
	if _, err := s.Add(Batch{Vectors: []float32{0, 1, 0, 0, 0, 0, 0, 1}, IDs: []string{"y"}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = OpenStore(path, StoreOptions{}); err != nil || s.Len() != 503 || !s.Has("y") {
		t.Fatalf("after the torn tail and a new add: %v", err)
	}
	s.Close()
	// A log of another index file (this one rebuilt) is refused.
	other, _ := storeFile(t, 500, 8, KindHNSW, QuantizeNone)
	os.Rename(other, path)
	if _, err := OpenStore(path, StoreOptions{}); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Fatalf("a log of another file was accepted: %v", err)
	}
}

// TestConcurrentSearchesDuringUpdatesAndCompaction runs searches while items are added,
// deleted and compacted (meaningful under -race): every search must find the items that were
// present throughout, never a deleted one, and never fail.
func TestConcurrentSearchesDuringUpdatesAndCompaction(t *testing.T) {
	const d = 16
	path, v := storeFile(t, 1500, d, KindHNSW, QuantizeNone)
	s, err := OpenStore(path, StoreOptions{CompactAfter: 150})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var stop atomic.Bool
	var annMisses, annTried atomic.Int64
	var gone sync.Map // ids deleted (from before the search starts)
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; !stop.Load(); i = (i + 7) % 1000 {
				// Rows 1000.. are never deleted: each must be its own nearest.
				row := 1000 + i%500
				deletedBefore := map[string]bool{}
				gone.Range(func(k, _ any) bool { deletedBefore[k.(string)] = true; return true })
				rs, err := s.Search(v[row*d:(row+1)*d], 10, SearchOptions{Exact: i%2 == 0})
				if err != nil {
					errc <- err
					return
				}
				if rs[0][0].ID != fmt.Sprintf("v%d", row) {
					if i%2 == 0 { // exact: never
						errc <- fmt.Errorf("v%d not found first by exact search: %v", row, ids(rs[0]))
						return
					}
					annMisses.Add(1)
				}
				annTried.Add(int64(i % 2))
				for _, r := range rs[0] {
					if deletedBefore[r.ID] {
						errc <- fmt.Errorf("deleted %s returned", r.ID)
						return
					}
				}
			}
		}(w)
	}
	nv := clustered(400, d, 20, 0.4, 13)
	for i := 0; i < 400; i += 20 {
		b := Batch{Vectors: nv[i*d : (i+20)*d], IDs: make([]string, 20)}
		for j := range b.IDs {
			b.IDs[j] = fmt.Sprintf("n%d", i+j)
		}
		if _, err := s.Add(b); err != nil {
			t.Fatal(err)
		}
		var del []string
		for j := i / 20 * 40; j < i/20*40+40; j++ {
			del = append(del, fmt.Sprintf("v%d", j))
		}
		if _, err := s.Delete(del); err != nil {
			t.Fatal(err)
		}
		for _, id := range del {
			gone.Store(id, true)
		}
		if i == 200 {
			if err := s.Compact(); err != nil {
				t.Fatal(err)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if annMisses.Load() > annTried.Load()/50 {
		t.Errorf("graph search missed %d of %d items present throughout", annMisses.Load(), annTried.Load())
	}
	// The background compaction runs on its own goroutine: on a busy machine it may still be
	// under way when the updates end (seen once with every core taken by other tests).
	for deadline := time.Now().Add(30 * time.Second); s.Stats().Compactions < 2 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if st := s.Stats(); st.Compactions < 2 || st.Items != 1500+400-800 {
		t.Errorf("stats %+v: want ≥ 2 compactions (one in the background) and 1100 items", st)
	}
}
