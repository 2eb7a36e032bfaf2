package tensor

import "sync"

// Pool recycles float32 buffers by exact length so that a steady-state training step, which
// allocates the same intermediate shapes every time, allocates almost nothing. It is safe for
// concurrent use.
type Pool struct {
	mu   sync.Mutex
	free map[int][][]float32
}

// Get returns a tensor of the given shape. Its contents are undefined unless zero is true.
func (p *Pool) Get(zero bool, shape ...int) *Tensor {
	n := Numel(shape)
	var buf []float32
	p.mu.Lock()
	if l := p.free[n]; len(l) > 0 {
		buf = l[len(l)-1]
		p.free[n] = l[:len(l)-1]
	}
	p.mu.Unlock()
	if buf == nil {
		buf = make([]float32, n)
	} else if zero {
		clear(buf)
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: buf}
}

// Put returns t's buffer to the pool; t must not be used afterwards.
func (p *Pool) Put(t *Tensor) {
	if t == nil || t.Data == nil {
		return
	}
	p.mu.Lock()
	if p.free == nil {
		p.free = make(map[int][][]float32)
	}
	p.free[len(t.Data)] = append(p.free[len(t.Data)], t.Data[:len(t.Data):len(t.Data)])
	p.mu.Unlock()
	t.Data = nil
}
