package index

import (
	"math"
)

// SQ8 is int8 scalar quantisation per dimension (faiss's QT_8bit): component j of a vector is
// stored as the byte c_j = round((v_j − min_j)/scale_j) clamped to [0, 255], with min_j and
// scale_j = (max_j − min_j)/255 taken over the vectors it was trained on. A query q scores a
// code as q·v̂ = Σ_j q_j·min_j + Σ_j (q_j·scale_j)·c_j, one multiply-add per byte. The graph is
// walked on these approximate scores and the candidates found are re-ranked with the float32
// vectors.
type SQ8 struct {
	Min, Scale []float32
}

// trainSQ8 fits the per-dimension ranges of the n rows of v.
func trainSQ8(v []float32, d int) *SQ8 {
	q := &SQ8{Min: make([]float32, d), Scale: make([]float32, d)}
	hi := make([]float32, d)
	for j := range q.Min {
		q.Min[j], hi[j] = float32(math.Inf(1)), float32(math.Inf(-1))
	}
	for i := 0; i+d <= len(v); i += d {
		for j, x := range v[i : i+d] {
			q.Min[j] = min(q.Min[j], x)
			hi[j] = max(hi[j], x)
		}
	}
	for j := range q.Min {
		if q.Min[j] > hi[j] { // no rows: the unit cube
			q.Min[j], hi[j] = -1, 1
		}
		q.Scale[j] = (hi[j] - q.Min[j]) / 255
		if !(q.Scale[j] > 0) {
			q.Scale[j] = 1.0 / 255
		}
	}
	return q
}

// encode writes the code of v into c.
func (q *SQ8) encode(v []float32, c []uint8) {
	for j, x := range v {
		t := math.Round(float64((x - q.Min[j]) / q.Scale[j]))
		c[j] = uint8(min(max(t, 0), 255))
	}
}

// check refuses ranges that cannot come from trainSQ8.
func (q *SQ8) check() error {
	for j := range q.Min {
		m, s := float64(q.Min[j]), float64(q.Scale[j])
		if math.IsNaN(m) || math.IsInf(m, 0) || !(s > 0) || math.IsInf(s, 0) || math.Abs(m) > 2 || s > 2 {
			return bad("sq8 range of dimension %d (min %g, scale %g) is not finite, or outside what unit vectors give", j, m, s)
		}
	}
	return nil
}

// sq8Scorer scores nodes against a query from their codes.
type sq8Scorer struct {
	qs    []float32 // q_j·scale_j
	bias  float32   // Σ q_j·min_j
	codes *chunked[uint8]
}

// scorer prepares the query for scoring codes, in qs when it is long enough.
func (q *SQ8) scorer(query, qs []float32, codes *chunked[uint8]) sq8Scorer {
	if len(qs) < len(query) {
		qs = make([]float32, len(query))
	}
	s := sq8Scorer{qs: qs[:len(query)], codes: codes}
	for j, x := range query {
		s.qs[j] = x * q.Scale[j]
	}
	s.bias = dotGo(query, q.Min)
	return s
}

func (s sq8Scorer) score(id uint32) float32 { return s.bias + dotU8(s.qs, s.codes.row(int(id))) }

func (s sq8Scorer) scoreBatch(ids []uint32, out []float32) {
	out = out[:len(ids)]
	if len(ids) > 0 && s.codes.inBase(ids) {
		prefetchRows(rowAddr(s.codes.base), len(s.qs), &ids[0], len(ids), len(s.qs))
		dotU8Rows(s.qs, s.codes.base, ids, out)
		for j := range out {
			out[j] += s.bias
		}
		return
	}
	for _, id := range ids {
		prefetch(rowAddr(s.codes.row(int(id))), len(s.qs))
	}
	for j, id := range ids {
		out[j] = s.bias + dotU8(s.qs, s.codes.row(int(id)))
	}
}
