package dist_test

import (
	"slices"
	"testing"

	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/internal/mpitest"
)

// twoRanks pretends to be rank 0 of 2 whose partner's gradients are all 1: an all-reduce adds 1.
// It records the length of each all-reduce, in the order they start.
type twoRanks struct {
	dist.Local
	calls []int
}

func (c *twoRanks) Size() int { return 2 }
func (c *twoRanks) IAllReduce(buf []float32) *dist.Request {
	c.calls = append(c.calls, len(buf))
	for i := range buf {
		buf[i]++
	}
	return dist.Local{}.IAllReduce(buf)
}

func grads(sizes ...int) [][]float32 {
	g := make([][]float32, len(sizes))
	for i, n := range sizes {
		g[i] = make([]float32, n)
		for j := range g[i] {
			g[i][j] = float32(10*i + j)
		}
	}
	return g
}

// TestGradAveragerBuckets: gradients packed last-first into buckets of at most the given bytes,
// launched in bucket order whatever the Ready order, averaged back in place.
func TestGradAveragerBuckets(t *testing.T) {
	for _, c := range []struct {
		name  string
		ready []int   // Ready calls before Wait
		calls [][]int // the all-reduces started after each of them
	}{
		{"after backward", nil, nil},
		{"backward order", []int{3, 2, 1, 0}, [][]int{{}, {35}, {35}, {35, 30}}},
		// Bucket 1 (gradients 1, 0) completes first but must wait for bucket 0 (3, 2).
		{"out of order", []int{0, 1, 3, 2}, [][]int{{}, {}, {}, {35, 30}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			comm := &twoRanks{}
			g := grads(10, 20, 30, 5)
			want := grads(10, 20, 30, 5)
			a := dist.NewGradAverager(comm, g, 4*35)
			if a.Buckets() != 2 {
				t.Fatalf("%d buckets, want 2 ({5,30} and {20,10})", a.Buckets())
			}
			for k, i := range c.ready {
				a.Ready(i)
				if !slices.Equal(comm.calls, c.calls[k]) && !(len(comm.calls) == 0 && len(c.calls[k]) == 0) {
					t.Fatalf("after Ready(%v): all-reduces %v, want %v", c.ready[:k+1], comm.calls, c.calls[k])
				}
			}
			a.Wait()
			if !slices.Equal(comm.calls, []int{35, 30}) {
				t.Fatalf("all-reduces %v, want [35 30]", comm.calls)
			}
			for i := range g {
				for j := range g[i] {
					if w := (want[i][j] + 1) / 2; g[i][j] != w {
						t.Fatalf("gradient %d[%d] = %v, want (g+1)/2 = %v", i, j, g[i][j], w)
					}
				}
			}
			if s := a.Stats(); s.Bytes != 4*65 || s.Buckets != 2 {
				t.Errorf("stats %+v, want 260 bytes in 2 buckets", s)
			}
			// A second step reuses the buckets.
			a.Average()
			if len(comm.calls) != 4 {
				t.Errorf("second step made %d all-reduces in all, want 4", len(comm.calls))
			}
		})
	}
}

func TestGradAveragerOnOneRankChangesNothing(t *testing.T) {
	g := grads(3, 4)
	a := dist.NewGradAverager(dist.Local{}, g, 0)
	a.Ready(1)
	a.Wait()
	if !slices.Equal(g[1], grads(3, 4)[1]) {
		t.Errorf("averaging over one rank changed the gradient: %v", g[1])
	}
}

// TestGradAveragerMPI: 3 ranks with different gradients end with the same averages, bit for bit.
func TestGradAveragerMPI(t *testing.T) {
	if !mpitest.Rank() {
		mpitest.Run(t, mpitest.Job{NP: 3})
		return
	}
	c := mpitest.Join(t)
	g := grads(1000, 7, 3000)
	for i := range g {
		for j := range g[i] {
			g[i][j] *= float32(c.Rank()+1) / 3
		}
	}
	a := dist.NewGradAverager(c, g, 4*2000)
	a.Ready(2)
	a.Wait()
	ref := grads(1000, 7, 3000)
	for i := range g {
		mine := g[i]
		all := make([]float32, c.Size()*len(mine))
		c.AllGather(all, mine)
		for j := range mine {
			if want := ref[i][j] * 2 / 3; abs(mine[j]-want) > 1e-5*abs(want)+1e-6 {
				t.Fatalf("rank %d: gradient %d[%d] = %v, want %v", c.Rank(), i, j, mine[j], want)
			}
			for r := range c.Size() {
				if all[r*len(mine)+j] != mine[j] {
					t.Fatalf("rank %d: gradient %d[%d] differs on rank %d", c.Rank(), i, j, r)
				}
			}
		}
	}
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
