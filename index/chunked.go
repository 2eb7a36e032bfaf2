package index

import "sync/atomic"

// chunkShift sets the rows of one chunk of appended rows (1<<chunkShift).
const chunkShift = 14

const chunkRows = 1 << chunkShift

// chunked is an append-only array of rows of width elements: the first nbase rows in one
// contiguous slice (read from the index file), the rest in chunks of chunkRows rows that never
// move once allocated, so readers can use any row below Len while one writer appends more. Rows
// are never modified after they are appended.
type chunked[T any] struct {
	width  int
	base   []T
	nbase  int
	chunks atomic.Pointer[[][]T]
	n      atomic.Int64
	keep   *mapping // the file map base is in, if it is one: kept as long as the rows are
}

func newChunked[T any](width int, base []T) *chunked[T] {
	c := &chunked[T]{width: width, base: base}
	if width > 0 {
		c.nbase = len(base) / width
	}
	c.chunks.Store(&[][]T{})
	c.n.Store(int64(c.nbase))
	return c
}

// Len is the number of rows readers may use.
func (c *chunked[T]) Len() int { return int(c.n.Load()) }

// row returns row i (i < Len); the caller must not modify it.
func (c *chunked[T]) row(i int) []T {
	w := c.width
	if i < c.nbase {
		return c.base[i*w : (i+1)*w : (i+1)*w]
	}
	j := i - c.nbase
	ch := (*c.chunks.Load())[j>>chunkShift]
	o := (j & (chunkRows - 1)) * w
	return ch[o : o+w : o+w]
}

// inBase reports whether every row of ids is one of the contiguous first rows.
func (c *chunked[T]) inBase(ids []uint32) bool {
	for _, id := range ids {
		if int(id) >= c.nbase {
			return false
		}
	}
	return true
}

// at is row(i)[0], for width-1 arrays.
func (c *chunked[T]) at(i int) T {
	if i < c.nbase {
		return c.base[i]
	}
	j := i - c.nbase
	return (*c.chunks.Load())[j>>chunkShift][j&(chunkRows-1)]
}

// push appends a row (a copy of v, len(v) == width) and publishes it; one writer at a time.
func (c *chunked[T]) push(v ...T) int {
	i := int(c.n.Load())
	j := i - c.nbase
	chs := *c.chunks.Load()
	if j>>chunkShift >= len(chs) {
		ch := make([]T, chunkRows*c.width)
		adviseHuge(ch)
		grown := append(chs[:len(chs):len(chs)], ch)
		c.chunks.Store(&grown)
		chs = grown
	}
	copy(chs[j>>chunkShift][(j&(chunkRows-1))*c.width:], v)
	c.n.Store(int64(i + 1))
	return i
}

// segments calls f with each contiguous run of rows below n and the index of its first row.
func (c *chunked[T]) segments(n int, f func(rows []T, first int)) {
	if n <= 0 {
		return
	}
	if c.nbase > 0 {
		f(c.base[:min(n, c.nbase)*c.width], 0)
	}
	chs := *c.chunks.Load()
	for k, first := 0, c.nbase; first < n; k, first = k+1, first+chunkRows {
		rows := min(chunkRows, n-first)
		f(chs[k][:rows*c.width], first)
	}
}

// bitset is a set of row numbers safe for concurrent reads and one writer: tombstones.
type bitset struct {
	words atomic.Pointer[[]atomic.Uint64]
	count atomic.Int64
}

func newBitset(n int) *bitset {
	b := &bitset{}
	w := make([]atomic.Uint64, (n+63)/64)
	b.words.Store(&w)
	return b
}

// has reports whether i is in the set.
func (b *bitset) has(i int) bool {
	w := *b.words.Load()
	return i>>6 < len(w) && w[i>>6].Load()&(1<<(i&63)) != 0
}

// add puts i in the set (one writer at a time) and reports whether it was new.
func (b *bitset) add(i int) bool {
	w := *b.words.Load()
	if i>>6 >= len(w) {
		grown := make([]atomic.Uint64, max(2*len(w), i>>6+1))
		for k := range w {
			grown[k].Store(w[k].Load())
		}
		b.words.Store(&grown)
		w = grown
	}
	old := w[i>>6].Load()
	if old&(1<<(i&63)) != 0 {
		return false
	}
	w[i>>6].Store(old | 1<<(i&63))
	b.count.Add(1)
	return true
}

// Len is the number of rows in the set.
func (b *bitset) Len() int { return int(b.count.Load()) }
