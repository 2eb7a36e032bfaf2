package method

import (
	"math"
	"slices"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/loss"
	"github.com/contrastive-go/contrastive/tensor"
)

// TestNNCLRUsesTheNearestNeighbourAndQueuesView1 checks one Loss against the loss computed from
// a brute-force nearest-neighbour search of the support set, and the FIFO update with view 1's
// unit projections.
func TestNNCLRUsesTheNearestNeighbourAndQueuesView1(t *testing.T) {
	s := newMethod(t, "nnclr", 1).(*NNCLR) // K = 48
	tp := autodiff.NewTape()
	const n, d = 20, 8
	for step := range 4 {
		b := randomBatch(tp, n, uint64(40+step))
		support := s.Support().Clone()
		got := s.Loss(b).Item()
		// Brute force on the same forward pass (the model is unchanged between the two).
		z := s.model.Forward(b.X)
		p := s.model.Predict(z)
		nn := make([]float32, 2*n*d)
		unit := make([]float32, 2*n*d)
		for i := range 2 * n {
			row := unit[i*d : (i+1)*d]
			copy(row, z.Value.Data[i*d:(i+1)*d])
			normalizeRow(row)
			best, bestSim := -1, math.Inf(-1)
			for j := range 48 {
				var sim float64
				for k := range d {
					sim += float64(row[k]) * float64(support.Data[j*d+k])
				}
				if sim > bestSim {
					best, bestSim = j, sim
				}
			}
			copy(nn[i*d:(i+1)*d], support.Data[best*d:(best+1)*d])
		}
		nnv := tp.Constant(tensor.FromSlice(nn, 2*n, d))
		want := loss.NNCLR(autodiff.Slice(nnv, 0, 0, n), autodiff.Slice(nnv, 0, n, 2*n),
			autodiff.Slice(p, 0, 0, n), autodiff.Slice(p, 0, n, 2*n), s.tau).Item()
		if math.Abs(float64(got-want)) > 1e-5 {
			t.Fatalf("step %d: loss %v, want %v from the brute-force neighbours", step, got, want)
		}
		tp.Reset()
		if !slices.Equal(support.Data, s.Support().Data) {
			t.Fatal("Loss changed the support set (AfterStep must)")
		}
		ptr := s.ptr
		s.AfterStep(0)
		for j := range n {
			r := (ptr + j) % 48
			if !slices.Equal(s.Support().Data[r*d:(r+1)*d], unit[j*d:(j+1)*d]) {
				t.Fatalf("step %d: support row %d is not view 1's unit projection %d", step, r, j)
			}
		}
		if s.ptr != (ptr+n)%48 {
			t.Fatalf("step %d: pointer %d, want %d", step, s.ptr, (ptr+n)%48)
		}
	}
}
