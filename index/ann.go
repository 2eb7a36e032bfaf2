package index

import (
	"fmt"
	"io"
	"time"
)

// Kinds of index: exact search only, or an HNSW graph (with optional sq8 codes) beside it.
const (
	KindExact = "exact"
	KindHNSW  = "hnsw"
	KindAuto  = "auto"
)

// Quantisations of the vectors the graph is walked on.
const (
	QuantizeNone = "none"
	QuantizeSQ8  = "sq8"
)

// AutoExactBelow is the collection size under which KindAuto chooses exact search: below it an
// exact pass over the vectors costs about as little as a graph search (0.2 ms at 10k×128 on the
// development machine) and is exact.
const AutoExactBelow = 20_000

// ANNOptions choose and tune the approximate index.
type ANNOptions struct {
	Kind           string // KindHNSW, KindExact or KindAuto ("" is auto)
	M              int    // default DefaultM
	EfConstruction int    // default DefaultEfConstruction
	EfSearch       int    // default DefaultEfSearch
	Quantize       string // QuantizeNone ("") or QuantizeSQ8
	Seed           uint64
	Workers        int       // build goroutines (default GOMAXPROCS)
	Log            io.Writer // progress; nil is silent
}

// ResolveKind says which kind opt.Kind gives for an index of n vectors, and why.
func ResolveKind(kind string, n int) (string, string) {
	switch kind {
	case KindExact, KindHNSW:
		return kind, "as asked (--kind " + kind + ")"
	}
	if n < AutoExactBelow {
		return KindExact, fmt.Sprintf("auto: %d vectors, under %d, where exact search is as fast", n, AutoExactBelow)
	}
	return KindHNSW, fmt.Sprintf("auto: %d vectors, at least %d, where exact search gets slow", n, AutoExactBelow)
}

// ann is an approximate index over the rows of an Index: the graph and, with sq8, the codes.
type ann struct {
	graph    *HNSW
	efSearch int
	sq       *SQ8            // nil: the graph is walked on the float32 vectors
	codes    *chunked[uint8] // with sq: a code per row
}

// Kind is KindHNSW when the index has a graph, else KindExact.
func (x *Index) Kind() string {
	if x.ann != nil {
		return KindHNSW
	}
	return KindExact
}

// BuildANN builds the approximate index over the current rows (replacing any) when
// ResolveKind(opt.Kind, Len) is KindHNSW, and drops it when it is KindExact. It returns the kind
// chosen and why.
func (x *Index) BuildANN(opt ANNOptions) (kind, why string, err error) {
	kind, why = ResolveKind(opt.Kind, x.Len())
	if opt.Quantize == "" {
		opt.Quantize = QuantizeNone
	}
	if opt.Quantize != QuantizeNone && opt.Quantize != QuantizeSQ8 {
		return "", "", fmt.Errorf("unknown quantisation %q (want none or sq8)", opt.Quantize)
	}
	if kind == KindExact {
		x.ann = nil
		return kind, why, nil
	}
	if opt.M < 2 || opt.M > MaxM {
		if opt.M != 0 {
			return "", "", fmt.Errorf("M %d is outside [2, %d]", opt.M, MaxM)
		}
	}
	if opt.EfSearch <= 0 {
		opt.EfSearch = DefaultEfSearch
	}
	d := x.meta.Dim
	vec := newChunked(d, x.vectors)
	vec.keep = x.mapped
	a := &ann{graph: newHNSW(HNSWConfig{M: opt.M, EfConstruction: opt.EfConstruction, Seed: opt.Seed}, vec), efSearch: opt.EfSearch}
	n := x.Len()
	start := time.Now()
	a.graph.build(0, n, opt.Workers, func(done int) {
		if opt.Log != nil && done%100000 == 0 {
			fmt.Fprintf(opt.Log, "hnsw: linked %d/%d vectors (%.0fs)\n", done, n, time.Since(start).Seconds())
		}
	})
	x.ann = a
	if err := x.Quantize(opt.Quantize); err != nil {
		return "", "", err
	}
	return kind, why, nil
}

// Quantize sets the quantisation the graph is walked on (QuantizeSQ8: codes trained on and
// encoded from the current rows; QuantizeNone: the float32 vectors) without rebuilding the
// graph, which is the same for both. An index without a graph only accepts QuantizeNone.
func (x *Index) Quantize(q string) error {
	switch {
	case q != QuantizeNone && q != QuantizeSQ8:
		return fmt.Errorf("unknown quantisation %q (want none or sq8)", q)
	case x.ann == nil && q == QuantizeSQ8:
		return fmt.Errorf("sq8 needs an HNSW graph: the index is exact")
	case x.ann == nil:
		return nil
	}
	a := *x.ann
	a.sq, a.codes = nil, nil
	if q == QuantizeSQ8 {
		d, n := x.meta.Dim, x.Len()
		a.sq = trainSQ8(x.vectors, d)
		codes := make([]uint8, n*d)
		adviseHuge(codes)
		for i := 0; i < n; i++ {
			a.sq.encode(x.vectors[i*d:(i+1)*d], codes[i*d:(i+1)*d])
		}
		a.codes = newChunked(d, codes)
	}
	x.ann = &a
	return nil
}

// MaxM bounds M (so that a neighbour list fits its count and a corrupt file cannot ask for huge
// lists).
const MaxM = 256

// MaxEf bounds ef-construction and ef-search.
const MaxEf = 1 << 16
