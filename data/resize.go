package data

import (
	"fmt"
	"math"
)

// Resize returns m resampled to w×h with the given filter (see Interp), channel by channel,
// in float32 without rounding. It panics if w or h is not positive (a programmer error).
func Resize(m Image, w, h int, interp Interp) Image {
	if w <= 0 || h <= 0 {
		panic(fmt.Sprintf("data.Resize: invalid size %dx%d", w, h))
	}
	if w == m.W && h == m.H {
		return m.Clone()
	}
	xs := resampleWeights(m.W, w, interp)
	ys := resampleWeights(m.H, h, interp)
	tmp := make([]float32, m.H*w) // one channel, resized horizontally
	out := NewImage(m.C, h, w)
	for c := 0; c < m.C; c++ {
		sp := m.Pix[c*m.W*m.H : (c+1)*m.W*m.H]
		for y := 0; y < m.H; y++ {
			row := sp[y*m.W : (y+1)*m.W]
			for x, tw := range xs {
				var s float32
				for k, wt := range tw.w {
					s += wt * row[tw.first+k]
				}
				tmp[y*w+x] = s
			}
		}
		dp := out.Pix[c*w*h : (c+1)*w*h]
		for y, tw := range ys {
			drow := dp[y*w : (y+1)*w]
			for k, wt := range tw.w {
				srow := tmp[(tw.first+k)*w : (tw.first+k+1)*w]
				for x := range drow {
					drow[x] += wt * srow[x]
				}
			}
		}
	}
	return out
}

// taps are the normalised weights of source pixels first, first+1, ... for one output pixel.
type taps struct {
	first int
	w     []float32
}

func resampleWeights(in, out int, interp Interp) []taps {
	scale := float64(in) / float64(out)
	res := make([]taps, out)
	for o := range res {
		var first, last int
		var weight func(i int) float64
		if interp == Area {
			lo, hi := float64(o)*scale, float64(o+1)*scale
			first, last = int(math.Floor(lo)), int(math.Ceil(hi))-1
			weight = func(i int) float64 {
				return math.Min(hi, float64(i+1)) - math.Max(lo, float64(i))
			}
		} else {
			support := math.Max(scale, 1)
			center := (float64(o)+0.5)*scale - 0.5
			first, last = int(math.Ceil(center-support)), int(math.Floor(center+support))
			weight = func(i int) float64 { return 1 - math.Abs(float64(i)-center)/support }
		}
		first, last = max(first, 0), min(last, in-1)
		var ws []float64
		var sum float64
		for i := first; i <= last; i++ {
			v := math.Max(weight(i), 0)
			ws = append(ws, v)
			sum += v
		}
		// Trim zero weights at both ends.
		for len(ws) > 1 && ws[0] == 0 {
			ws, first = ws[1:], first+1
		}
		for len(ws) > 1 && ws[len(ws)-1] == 0 {
			ws = ws[:len(ws)-1]
		}
		t := taps{first: first, w: make([]float32, len(ws))}
		for i, v := range ws {
			if sum > 0 {
				t.w[i] = float32(v / sum)
			} else {
				t.w[i] = 1
			}
		}
		res[o] = t
	}
	return res
}
