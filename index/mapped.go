package index

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// With sq8 the graph is walked on the codes and the float32 vectors are read only to re-rank a
// search's ef candidates (and to link added items), so Open maps them from the file instead of
// copying them to the heap: they are then page cache, shared, and reclaimed by the kernel
// under memory pressure (and read back from the file when needed), and the heap holds the
// codes, the graph and the ids. Save places the vector section at a multiple of vectorAlign
// bytes so that it can be mapped as float32s; a file written before that is read into memory as
// before.

// vectorAlign is the alignment of the vector section that Save pads the header to.
const vectorAlign = 64

// mapping is a read-only map of an index file. Whatever holds slices of it (an Index, the
// chunked rows of a Store) holds the *mapping too; the map is removed once none is reachable.
type mapping struct{ b []byte }

func newMapping(b []byte) *mapping {
	m := &mapping{b: b}
	runtime.AddCleanup(m, func(b []byte) { unmapFile(b); unmapped.Add(1) }, b)
	return m
}

// unmapped counts the maps removed (for the tests).
var unmapped atomic.Int64

// mapVectors returns a source of vectors for Read that maps them from f (size bytes) when the
// file is an sq8 index with an aligned vector section, and repositions r after them; nil
// vectors when it does not apply (Read then reads them from r).
func mapVectors(f *os.File, size int64, r *bufio.Reader) vectorSource {
	return func(h *Header, off int64) ([]float32, *mapping, error) {
		if h.ANN == nil || h.ANN.Quantize != QuantizeSQ8 || off%vectorAlign != 0 || !littleEndian || h.Count == 0 {
			return nil, nil, nil
		}
		b, err := mapFile(f, size)
		if err != nil {
			return nil, nil, nil // not mappable here: read them
		}
		m := newMapping(b)
		n := int64(h.Count) * int64(h.Dim)
		end := off + 4*n
		if end > int64(len(b)) {
			return nil, nil, fmt.Errorf("%w: the vectors end at byte %d, after the file's %d", ErrFormat, end, len(b))
		}
		if _, err := f.Seek(end, io.SeekStart); err != nil {
			return nil, nil, err
		}
		r.Reset(f)
		v := unsafe.Slice((*float32)(unsafe.Pointer(&b[off])), n)
		return v[:n:n], m, nil
	}
}

// vectorSource provides the vectors of a file whose vector section starts at byte off, or nil
// to have them read.
type vectorSource func(h *Header, off int64) ([]float32, *mapping, error)

// Mapped reports whether the index's vectors are mapped from its file (sq8 indexes, see
// mapped.go) rather than held in memory.
func (x *Index) Mapped() bool { return x.mapped != nil }

// remapVectors replaces the vectors of an sq8 index just saved at path by a map of the file's
// vector section, once it has checked that the map holds the same vectors; otherwise, or when
// the file cannot be mapped, x keeps them in memory.
func (x *Index) remapVectors(path string) {
	if x.ann == nil || x.ann.sq == nil || x.mapped != nil || len(x.vectors) == 0 || x.vecOff%vectorAlign != 0 || !littleEndian {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || x.vecOff+4*int64(len(x.vectors)) > st.Size() {
		return
	}
	b, err := mapFile(f, st.Size())
	if err != nil {
		return
	}
	m := newMapping(b)
	n := len(x.vectors)
	v := unsafe.Slice((*float32)(unsafe.Pointer(&b[x.vecOff])), n)[:n:n]
	if !bytes.Equal(f32Bytes(v), f32Bytes(x.vectors)) {
		return
	}
	g := x.ann.graph
	if g.vec.nbase*g.vec.width != n {
		return
	}
	x.vectors, x.mapped = v, m
	g.vec.base, g.vec.keep = v, m
}
