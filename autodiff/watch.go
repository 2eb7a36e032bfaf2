package autodiff

import (
	"fmt"
	"sort"
)

// WatchParams makes every Backward on tp call ready(i) as soon as the gradient of params[i] is
// final for that pass: when the backward pass has gone past the first node recorded (since the
// last Reset) that reads params[i] — every later reader has then propagated into it. Parameters
// no node read are reported at the end of the pass. So gradient communication can start while
// the backward pass still runs (data-parallel training's bucketed all-reduce). ready runs on the
// goroutine that called Backward, between two nodes, and is called for each parameter exactly
// once per pass, in the same order on every process that records the same computation.
// WatchParams(nil, nil) stops watching.
func (tp *Tape) WatchParams(params []*Var, ready func(i int)) {
	if params == nil {
		tp.watch = nil
		return
	}
	w := &paramWatch{index: make(map[*Var]int, len(params)), first: make([]int, len(params)), ready: ready}
	for i, p := range params {
		if p.tape != nil || !p.requiresGrad {
			panic(fmt.Sprintf("autodiff.WatchParams: %d (%q) is not a parameter made with Param", i, p.Name))
		}
		if _, dup := w.index[p]; dup {
			panic(fmt.Sprintf("autodiff.WatchParams: parameter %d (%q) is listed twice", i, p.Name))
		}
		w.index[p] = i
	}
	w.reset()
	tp.watch = w
}

// paramWatch tracks, for the watched parameters, the first recorded node that reads each.
type paramWatch struct {
	index map[*Var]int
	first []int // per parameter: index in Tape.nodes of its first reader, −1 for none
	order []int // parameters with a reader, by first reader, last first (the order they finish)
	next  int
	ready func(int)
}

func (w *paramWatch) reset() {
	for i := range w.first {
		w.first[i] = -1
	}
}

// use records that node number at reads inputs.
func (w *paramWatch) use(inputs []*Var, at int) {
	for _, in := range inputs {
		if in == nil || in.tape != nil {
			continue
		}
		if i, ok := w.index[in]; ok && w.first[i] < 0 {
			w.first[i] = at
		}
	}
}

// start orders the parameters for a backward pass.
func (w *paramWatch) start() {
	w.order, w.next = w.order[:0], 0
	for i, f := range w.first {
		if f >= 0 {
			w.order = append(w.order, i)
		}
	}
	sort.SliceStable(w.order, func(a, b int) bool { return w.first[w.order[a]] > w.first[w.order[b]] })
}

// passed reports the parameters whose first reader is node i, which has just been processed.
func (w *paramWatch) passed(i int) {
	for w.next < len(w.order) && w.first[w.order[w.next]] >= i {
		w.ready(w.order[w.next])
		w.next++
	}
}

// finish reports the parameters no node read.
func (w *paramWatch) finish() {
	for ; w.next < len(w.order); w.next++ {
		w.ready(w.order[w.next])
	}
	for i, f := range w.first {
		if f < 0 {
			w.ready(i)
		}
	}
}
