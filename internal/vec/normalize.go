package vec

import (
	"math"

	"github.com/contrastive-go/contrastive/parallel"
)

// NormalizeRows writes dst[i] = src[i] / max(‖src[i]‖₂, eps) for the rows of length d of src
// (torch.nn.functional.normalize; eps 1e-12 there), in parallel over rows, accumulating each norm
// in float64. dst may be src. When norms is not nil it receives each row's unclamped norm ‖src[i]‖
// (the gradient needs it). A zero row stays zero; a row holding NaN becomes NaN.
func NormalizeRows(dst, src []float32, d int, eps float64, norms []float64) {
	if d <= 0 || len(src)%d != 0 || len(dst) != len(src) || norms != nil && len(norms) != len(src)/d {
		panic("vec.NormalizeRows: dst, src and norms do not hold the same rows of length d")
	}
	n := len(src) / d
	parallel.For(n, max(1, 4096/d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row, out := src[i*d:(i+1)*d], dst[i*d:(i+1)*d]
			var s float64
			for _, v := range row {
				s += float64(v) * float64(v)
			}
			nrm := math.Sqrt(s)
			if norms != nil {
				norms[i] = nrm
			}
			inv := 1 / math.Max(nrm, eps) // NaN stays NaN
			for j, v := range row {
				out[j] = float32(float64(v) * inv)
			}
		}
	})
}
