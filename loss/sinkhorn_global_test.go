package loss

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// fakeRanks lets goroutines play the ranks of SinkhornGlobal: combine posts each rank's values
// and returns once every rank has, with their log-sum-exp over the ranks.
type fakeRanks struct {
	size           int
	mu             sync.Mutex
	cond           *sync.Cond
	parts          []float64
	round, arrived int
	result         []float64
}

func newFakeRanks(size int) *fakeRanks {
	f := &fakeRanks{size: size}
	f.cond = sync.NewCond(&f.mu)
	return f
}

func (f *fakeRanks) combine(rank int) func([]float64) {
	return func(v []float64) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.arrived == 0 {
			f.parts = make([]float64, f.size*len(v))
		}
		copy(f.parts[rank*len(v):], v)
		f.arrived++
		round := f.round
		if f.arrived == f.size {
			f.result = make([]float64, len(v))
			LogSumExpOver(f.result, f.parts)
			f.arrived, f.round = 0, f.round+1
			f.cond.Broadcast()
		}
		for f.round == round {
			f.cond.Wait()
		}
		copy(v, f.result)
	}
}

// TestSinkhornGlobalIsSinkhornOfTheWholeBatch: ranks holding parts of a batch get the codes
// Sinkhorn gives the whole batch; each part on its own (per-rank Sinkhorn) does not.
func TestSinkhornGlobalIsSinkhornOfTheWholeBatch(t *testing.T) {
	const ranks, b, k = 3, 5, 4
	rng := rand.New(rand.NewPCG(11, 12))
	s := make([]float32, ranks*b*k)
	for i := range s {
		s[i] = float32(rng.Float64()*2 - 1)
	}
	for _, eps := range []float64{0.05, 0.5} {
		want := Sinkhorn(s, ranks*b, k, eps, 3)
		got := make([][]float32, ranks)
		f := newFakeRanks(ranks)
		var wg sync.WaitGroup
		for r := range ranks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[r] = SinkhornGlobal(s[r*b*k:(r+1)*b*k], b, k, eps, 3, ranks*b, f.combine(r)).Data
			}()
		}
		wg.Wait()
		var worst, local float64
		for r := range ranks {
			own := Sinkhorn(s[r*b*k:(r+1)*b*k], b, k, eps, 3).Data
			for i, v := range got[r] {
				w := float64(want.Data[r*b*k+i])
				worst = max(worst, math.Abs(float64(v)-w))
				local = max(local, math.Abs(float64(own[i])-w))
			}
		}
		if worst > 1e-6 {
			t.Errorf("eps %v: codes of the ranks differ from the whole batch's by %.2g", eps, worst)
		}
		if local < 1e-2 {
			t.Errorf("eps %v: per-part Sinkhorn is within %.2g of the whole batch's: the test cannot tell them apart", eps, local)
		}
	}
}

func TestSinkhornGlobalOneRankIsSinkhorn(t *testing.T) {
	s := make([]float32, 6*7)
	for i := range s {
		s[i] = float32(math.Sin(float64(i)))
	}
	want := Sinkhorn(s, 6, 7, 0.1, 3)
	got := SinkhornGlobal(s, 6, 7, 0.1, 3, 6, func([]float64) {})
	for i := range got.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("code %d: %v, Sinkhorn %v", i, got.Data[i], want.Data[i])
		}
	}
}

func TestLogSumExpOver(t *testing.T) {
	dst := make([]float64, 2)
	LogSumExpOver(dst, []float64{0, math.Inf(-1), math.Log(3), 1000})
	if math.Abs(dst[0]-math.Log(4)) > 1e-12 || dst[1] != 1000 {
		t.Errorf("got %v, want [log 4, 1000]", dst)
	}
}
