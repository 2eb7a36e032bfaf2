// Package parallel splits loops over the machine's cores. It is the lowest layer of the engine:
// kernels call For to spread elementwise and per-channel work over GOMAXPROCS goroutines.
package parallel

import (
	"runtime"
	"sync"
)

// Workers is the number of goroutines For uses: GOMAXPROCS at the time of the call.
func Workers() int { return runtime.GOMAXPROCS(0) }

// For calls fn(lo, hi) on disjoint ranges that cover [0, n). Ranges hold at least grain items, so
// small loops run on the calling goroutine without any synchronisation cost.
func For(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	w := Workers()
	if max := (n + grain - 1) / grain; w > max {
		w = max
	}
	if w <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + w - 1) / w
	for lo := chunk; lo < n; lo += chunk {
		hi := lo + chunk
		if hi > n {
			hi = n
		}
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, hi)
	}
	hi := chunk
	if hi > n {
		hi = n
	}
	fn(0, hi)
	wg.Wait()
}
