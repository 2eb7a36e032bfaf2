// Package parallel splits loops over the machine's cores. It is the lowest layer of the engine:
// kernels call For to spread elementwise and per-channel work over GOMAXPROCS goroutines.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
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

// Dynamic calls fn(lo, hi) on disjoint ranges of grain items (the last may be shorter) that cover
// [0, n), on up to Workers() goroutines that each take the next range from a shared counter. A
// core slowed by another process then takes fewer ranges instead of holding the others up (For
// gives every goroutine an equal share up front). Use it when the ranges are independent: which
// goroutine runs a range is not fixed, so per-goroutine partial results would not be
// reproducible.
func Dynamic(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	grain = max(1, grain)
	tasks := (n + grain - 1) / grain
	w := min(Workers(), tasks)
	if w <= 1 {
		fn(0, n)
		return
	}
	var next atomic.Int64
	work := func() {
		for {
			t := int(next.Add(1)) - 1
			if t >= tasks {
				return
			}
			fn(t*grain, min((t+1)*grain, n))
		}
	}
	var wg sync.WaitGroup
	for i := 1; i < w; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}
