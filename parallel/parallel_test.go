package parallel

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// TestRangesCoverEachIndexOnce checks For and Dynamic on sizes around their grains and worker
// counts: every index in [0, n) is visited exactly once, ranges are non-empty and, but for the
// last one, at least grain long (For) or exactly grain long (Dynamic).
func TestRangesCoverEachIndexOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 2, 7, 64, 1000} {
			for _, grain := range []int{0, 1, 3, 64, 5000} {
				for _, f := range []struct {
					name string
					fn   func(n, grain int, fn func(lo, hi int))
				}{{"For", For}, {"Dynamic", Dynamic}} {
					name := fmt.Sprintf("%s/procs=%d/n=%d/grain=%d", f.name, procs, n, grain)
					seen := make([]int, n)
					var mu sync.Mutex
					var ranges [][2]int
					f.fn(n, grain, func(lo, hi int) {
						mu.Lock()
						defer mu.Unlock()
						ranges = append(ranges, [2]int{lo, hi})
						for i := lo; i < hi; i++ {
							seen[i]++
						}
					})
					for i, c := range seen {
						if c != 1 {
							t.Fatalf("%s: index %d visited %d times", name, i, c)
						}
					}
					g := max(grain, 1)
					for _, r := range ranges {
						if r[1] <= r[0] {
							t.Fatalf("%s: empty range %v", name, r)
						}
						if r[1] < n && r[1]-r[0] < min(g, n) {
							t.Fatalf("%s: range %v shorter than grain %d", name, r, g)
						}
						if f.name == "Dynamic" && n > g && r[1] < n && r[1]-r[0] != g {
							t.Fatalf("%s: range %v is not one grain", name, r)
						}
					}
				}
			}
		}
	}
}
