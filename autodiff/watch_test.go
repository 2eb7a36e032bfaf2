package autodiff_test

import (
	"slices"
	"testing"

	ad "github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/gradcheck"
)

// TestWatchParamsReportsFinalGradients: each watched parameter is reported once per backward
// pass, its gradient already final when reported; parameters used twice are reported after
// their first use; unused ones at the end; the order is the order gradients finish.
func TestWatchParamsReportsFinalGradients(t *testing.T) {
	w1 := ad.Param(gradcheck.Random(1, 5, 4))
	b1 := ad.Param(gradcheck.Random(2, 5))
	w2 := ad.Param(gradcheck.Random(3, 3, 5))
	unused := ad.Param(gradcheck.Random(4, 2))
	params := []*ad.Var{w1, b1, w2, unused}
	tp := ad.NewTape()
	for step := range 2 {
		var order []int
		seen := map[int][]float32{}
		tp.WatchParams(params, func(i int) {
			order = append(order, i)
			seen[i] = append([]float32(nil), params[i].Grad.Data...)
		})
		x := tp.Constant(gradcheck.Random(uint64(10+step), 6, 4))
		h := ad.GELU(ad.Linear(x, w1, b1))
		// w1 is read again, later: its gradient is final only after this second use.
		h2 := ad.GELU(ad.Linear(ad.GELU(ad.Linear(x, w1, nil)), w2, nil))
		loss := ad.Add(ad.SumAll(ad.Linear(h, w2, nil)), ad.SumAll(h2))
		for _, p := range params {
			p.ZeroGrad()
		}
		tp.Backward(loss)
		if want := []int{2, 0, 1, 3}; !slices.Equal(order, want) {
			t.Fatalf("step %d: ready order %v, want %v (w2 first, then w1 and b1, unused last)", step, order, want)
		}
		for i, p := range params {
			if !slices.Equal(seen[i], p.Grad.Data) {
				t.Errorf("step %d: parameter %d reported before its gradient was final", step, i)
			}
		}
		tp.Reset()
	}
	tp.WatchParams(nil, nil)
}
