package index

// The approximate index is stored after the ids of the index file (format version 2), its
// size and parameters in the header's "ann" object, covered by the header's CRC-32C:
//
//	count      uint8 levels, one per node
//	count      level-0 lists: 1 + 2M uint32 each, the neighbour count then the neighbours
//	           upper lists: for each node of level L > 0 in row order, L lists of 1 + M uint32
//	with sq8:  dim float32 minima, dim float32 scales, count×dim uint8 codes
//
// Read checks every count, level and neighbour (below count, of a level at least the list's),
// the entry point (a node of the highest level) and the size before it allocates.

import (
	"encoding/binary"
	"io"
	"math"
)

// ANNHeader describes the approximate index in the file header.
type ANNHeader struct {
	Kind           string `json:"kind"`
	M              int    `json:"m"`
	EfConstruction int    `json:"ef_construction"`
	EfSearch       int    `json:"ef_search"`
	Seed           uint64 `json:"seed"`
	Quantize       string `json:"quantize"`
	Entry          int64  `json:"entry"` // -1 for an empty graph
	MaxLevel       int    `json:"max_level"`
	Bytes          int64  `json:"bytes"`
}

func (a *ann) header(n, d int) *ANNHeader {
	g := a.graph
	h := &ANNHeader{Kind: KindHNSW, M: g.m, EfConstruction: g.efC, EfSearch: a.efSearch, Seed: g.seed, Quantize: QuantizeNone, Entry: -1}
	if e := g.entry.Load(); e != entryNone {
		h.Entry, h.MaxLevel = int64(e>>8), int(e&0xff)
	}
	h.Bytes = int64(n) + 4*int64(n)*int64(1+g.m0)
	for i := 0; i < n; i++ {
		h.Bytes += 4 * int64(g.level(i)) * int64(1+g.m)
	}
	if a.sq != nil {
		h.Quantize = QuantizeSQ8
		h.Bytes += 8*int64(d) + int64(n)*int64(d)
	}
	return h
}

func writeU32s(w io.Writer, v []uint32) error {
	if littleEndian {
		if len(v) == 0 {
			return nil
		}
		_, err := w.Write(u32Bytes(v))
		return err
	}
	var b [4]byte
	for _, x := range v {
		binary.LittleEndian.PutUint32(b[:], x)
		if _, err := w.Write(b[:]); err != nil {
			return err
		}
	}
	return nil
}

func readU32s(r io.Reader, v []uint32) error {
	if littleEndian {
		if len(v) == 0 {
			return nil
		}
		_, err := io.ReadFull(r, u32Bytes(v))
		return err
	}
	b := make([]byte, 4*len(v))
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	for i := range v {
		v[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return nil
}

// write streams the section for the first n rows (no insert may run meanwhile).
func (a *ann) write(w io.Writer, n int) error {
	g := a.graph
	cs := *g.nodes.Load()
	for k := 0; k*chunkRows < n; k++ {
		rows := min(chunkRows, n-k*chunkRows)
		if _, err := w.Write(cs[k].level[:rows]); err != nil {
			return err
		}
	}
	for k := 0; k*chunkRows < n; k++ {
		rows := min(chunkRows, n-k*chunkRows)
		if err := writeU32s(w, cs[k].links0[:rows*(1+g.m0)]); err != nil {
			return err
		}
	}
	for i := 0; i < n; i++ {
		if g.level(i) > 0 {
			if err := writeU32s(w, cs[i>>chunkShift].upper[i&(chunkRows-1)]); err != nil {
				return err
			}
		}
	}
	if a.sq != nil {
		if err := writeF32s(w, a.sq.Min); err != nil {
			return err
		}
		if err := writeF32s(w, a.sq.Scale); err != nil {
			return err
		}
		var err error
		a.codes.segments(n, func(rows []uint8, _ int) {
			if err == nil {
				_, err = w.Write(rows)
			}
		})
		return err
	}
	return nil
}

func writeF32s(w io.Writer, v []float32) error {
	u := make([]uint32, len(v))
	for i, x := range v {
		u[i] = math.Float32bits(x)
	}
	return writeU32s(w, u)
}

// checkANNHeader checks the header's fields and that its size is possible for n rows of
// dimension d, before anything is allocated.
func checkANNHeader(h *ANNHeader, n, d int) error {
	if h.Kind != KindHNSW {
		return bad("ann kind %q (want %q)", h.Kind, KindHNSW)
	}
	if h.M < 2 || h.M > MaxM || h.EfConstruction < 1 || h.EfConstruction > MaxEf || h.EfSearch < 1 || h.EfSearch > MaxEf {
		return bad("ann parameters m %d, ef_construction %d, ef_search %d out of range", h.M, h.EfConstruction, h.EfSearch)
	}
	if h.Quantize != QuantizeNone && h.Quantize != QuantizeSQ8 {
		return bad("ann quantize %q (want none or sq8)", h.Quantize)
	}
	if (n == 0) != (h.Entry == -1) || h.Entry < -1 || h.Entry >= int64(n) || h.MaxLevel < 0 || h.MaxLevel > 30 {
		return bad("ann entry %d at level %d for %d nodes", h.Entry, h.MaxLevel, n)
	}
	min := int64(n) + 4*int64(n)*int64(1+2*h.M)
	if h.Quantize == QuantizeSQ8 {
		min += 8*int64(d) + int64(n)*int64(d)
	}
	if h.Bytes < min {
		return bad("ann section of %d bytes is shorter than the %d its %d nodes need", h.Bytes, min, n)
	}
	return nil
}

// readANN reads the section described by h (checked by checkANNHeader) for n rows of vec.
func readANN(r io.Reader, h *ANNHeader, n, d int, vec *chunked[float32]) (*ann, error) {
	g := newHNSW(HNSWConfig{M: h.M, EfConstruction: h.EfConstruction, Seed: h.Seed}, vec)
	a := &ann{graph: g, efSearch: h.EfSearch}
	if n > 0 {
		g.chunk(n - 1)
	}
	cs := *g.nodes.Load()
	maxLevel := 0
	var upper int64
	for k := 0; k*chunkRows < n; k++ {
		rows := min(chunkRows, n-k*chunkRows)
		if _, err := io.ReadFull(r, cs[k].level[:rows]); err != nil {
			return nil, bad("reading the graph's levels: %v", err)
		}
		for _, l := range cs[k].level[:rows] {
			if l > 30 {
				return nil, bad("graph node level %d is over 30", l)
			}
			maxLevel = max(maxLevel, int(l))
			upper += 4 * int64(l) * int64(1+g.m)
		}
	}
	want := int64(n) + 4*int64(n)*int64(1+g.m0) + upper
	if h.Quantize == QuantizeSQ8 {
		want += 8*int64(d) + int64(n)*int64(d)
	}
	if want != h.Bytes {
		return nil, bad("the graph's levels need an ann section of %d bytes but the header says %d", want, h.Bytes)
	}
	if n > 0 && (maxLevel != h.MaxLevel || g.level(int(h.Entry)) != maxLevel) {
		return nil, bad("the graph's entry %d is not a node of its highest level %d", h.Entry, maxLevel)
	}
	for k := 0; k*chunkRows < n; k++ {
		rows := min(chunkRows, n-k*chunkRows)
		if err := readU32s(r, cs[k].links0[:rows*(1+g.m0)]); err != nil {
			return nil, bad("reading the graph's level-0 lists: %v", err)
		}
	}
	for i := 0; i < n; i++ {
		if l := g.level(i); l > 0 {
			u := make([]uint32, l*(1+g.m))
			if err := readU32s(r, u); err != nil {
				return nil, bad("reading the graph's upper lists: %v", err)
			}
			cs[i>>chunkShift].upper[i&(chunkRows-1)] = u
		}
	}
	for i := 0; i < n; i++ {
		for l := 0; l <= g.level(i); l++ {
			ls := g.links(i, l)
			cap := g.m
			if l == 0 {
				cap = g.m0
			}
			if int(ls[0]) > cap {
				return nil, bad("graph node %d has %d neighbours on level %d, over %d", i, ls[0], l, cap)
			}
			for _, nb := range ls[1 : 1+ls[0]] {
				if int(nb) >= n || int(nb) == i || g.level(int(nb)) < l {
					return nil, bad("graph node %d links to %d on level %d, which is not a node of that level", i, nb, l)
				}
			}
		}
	}
	if n > 0 {
		g.entry.Store(uint64(h.Entry)<<8 | uint64(h.MaxLevel))
	}
	if h.Quantize == QuantizeSQ8 {
		a.sq = &SQ8{Min: make([]float32, d), Scale: make([]float32, d)}
		if err := readF32(r, a.sq.Min); err != nil {
			return nil, bad("reading the sq8 ranges: %v", err)
		}
		if err := readF32(r, a.sq.Scale); err != nil {
			return nil, bad("reading the sq8 ranges: %v", err)
		}
		if err := a.sq.check(); err != nil {
			return nil, err
		}
		codes := make([]uint8, n*d)
		adviseHuge(codes)
		if _, err := io.ReadFull(r, codes); err != nil {
			return nil, bad("reading the sq8 codes: %v", err)
		}
		a.codes = newChunked(d, codes)
	}
	return a, nil
}
