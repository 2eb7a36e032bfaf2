package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/index"
)

// searchSaved opens a saved index and times its searches of dir's queries on one core, one
// query per call, passes times over, checking them against dir's truth.
func searchSaved(path, dir, efs, prof string, passes, maxQueries int) error {
	qa, err := data.ReadNPYFile(filepath.Join(dir, "queries.npy"))
	if err != nil {
		return err
	}
	ta, err := data.ReadNPYFile(filepath.Join(dir, "truth.npy"))
	if err != nil {
		return err
	}
	base := memNow()
	s, err := index.OpenStore(path, index.StoreOptions{})
	if err != nil {
		return err
	}
	opened := memNow()
	nq, d, k := qa.Shape[0], qa.Shape[1], ta.Shape[1]
	if maxQueries > 0 && maxQueries < nq {
		nq = maxQueries // the first ones (exact search of 1M rows takes ~0.1 s each)
	}
	if d != s.Dim() || ta.Shape[0] != qa.Shape[0] {
		return fmt.Errorf("%s: queries %v and truth %v do not fit the %d-d index", dir, qa.Shape, ta.Shape, s.Dim())
	}
	want := make([]map[string]bool, nq)
	for i := range want {
		want[i] = map[string]bool{}
		for _, r := range ta.Data[i*k : (i+1)*k] {
			want[i][strconv.Itoa(int(r))] = true
		}
	}
	if prof != "" {
		f, err := os.Create(prof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	runtime.GOMAXPROCS(1)
	st := s.Stats()
	defer func() {
		after := memNow()
		per := func(a, b mem) map[string]float64 {
			n := float64(st.Rows)
			return map[string]float64{"heap": (a.heap - b.heap) / n, "rss_anon": (a.anon - b.anon) / n, "rss_file": (a.file - b.file) / n}
		}
		emit(map[string]any{"what": "memory", "index": filepath.Base(path), "quantize": st.Quantize, "kind": st.Kind, "rows": st.Rows, "mapped": st.Mapped,
			"bytes_per_vector_opened": per(opened, base), "bytes_per_vector_after_queries": per(after, base),
			"estimate": st.BytesPerVector, "estimate_mapped": st.MappedBytesPerVector})
		runtime.KeepAlive(s)
	}()
	for i := 0; i < min(nq, 100); i++ { // warm-up: page the index in
		if _, err := s.Search(qa.Data[i*d:(i+1)*d], k, index.SearchOptions{}); err != nil {
			return err
		}
	}
	for _, e := range strings.Split(efs, ",") {
		ef, err := strconv.Atoi(e)
		if err != nil {
			return fmt.Errorf("-ef %q: %v", e, err)
		}
		// The answers are kept and checked after the clock stops, as the peers' are.
		got := make([][]index.Result, nq)
		cpu0 := processCPU()
		start := time.Now()
		for p := 0; p < passes; p++ {
			for i := 0; i < nq; i++ {
				rs, err := s.Search(qa.Data[i*d:(i+1)*d], k, index.SearchOptions{Ef: ef})
				if err != nil {
					return err
				}
				got[i] = rs[0]
			}
		}
		el := time.Since(start).Seconds()
		cpu := processCPU() - cpu0
		hit := 0
		for i, rs := range got {
			for _, r := range rs {
				if want[i][r.ID] {
					hit++
				}
			}
		}
		emit(map[string]any{"what": "ours", "index": filepath.Base(path), "quantize": st.Quantize, "m": st.M, "ef": ef,
			"recall": float64(hit) / float64(nq*k), "qps": float64(nq*passes) / el, "cpu_qps": float64(nq*passes) / cpu, "queries": nq * passes,
			"rss": rss(), "anon_huge": procField("/proc/self/smaps_rollup", "AnonHugePages:")})
	}
	return nil
}

// processCPU is the CPU time of the process in seconds, user and system (so that a loaded
// machine's waits for a CPU do not count; the garbage collector's work does).
func processCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// mem is what the process holds: Go heap in use (after a GC), and the anonymous and
// file-backed resident pages.
type mem struct{ heap, anon, file float64 }

func memNow() mem {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return mem{float64(ms.HeapInuse), procField("/proc/self/status", "RssAnon:"), procField("/proc/self/status", "RssFile:")}
}
