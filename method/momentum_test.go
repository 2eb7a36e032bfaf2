package method

import (
	"math"
	"slices"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/nn"
	"github.com/contrastive-go/contrastive/optim"
	"github.com/contrastive-go/contrastive/tensor"
)

func rowNorm(row []float32) float64 {
	var s float64
	for _, v := range row {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

func TestMoCoV2QueueStartsAsSeededUnitVectors(t *testing.T) {
	a := newMethod(t, "moco-v2", 1).(*MoCoV2)
	b := newMethod(t, "moco-v2", 2).(*MoCoV2)
	q := a.Queue()
	if !tensor.SameShape(q.Shape, []int{48, 8}) {
		t.Fatalf("queue shape %v, want [48 8]", q.Shape)
	}
	for i := range 48 {
		if n := rowNorm(q.Data[i*8 : (i+1)*8]); math.Abs(n-1) > 1e-5 {
			t.Fatalf("queue row %d has norm %v", i, n)
		}
	}
	if !slices.Equal(q.Data, b.Queue().Data) {
		t.Error("the same Config.Seed gave different queues")
	}
	m, _ := models.Build(tinyConfig(), 1)
	c, _ := NewMoCoV2(m, Config{QueueSize: 48, Seed: 8})
	if slices.Equal(q.Data, c.Queue().Data) {
		t.Error("different seeds gave the same queue")
	}
	d, _ := NewMoCoV2(m, Config{})
	if d.Queue().Shape[0] != 4096 || d.tau != 0.2 || d.m != 0.99 {
		t.Errorf("defaults: K %d, τ %v, m %v; want 4096, 0.2, 0.99", d.Queue().Shape[0], d.tau, d.m)
	}
}

// TestMoCoV2QueueIsFIFO checks that each step writes the N unit keys of view 2 over the
// oldest N rows, wrapping around a queue whose size is not a multiple of N.
func TestMoCoV2QueueIsFIFO(t *testing.T) {
	s := newMethod(t, "moco-v2", 1).(*MoCoV2) // K = 48
	tp := autodiff.NewTape()
	const n = 20
	ptr := 0
	for i := range 4 {
		old := s.Queue().Clone()
		l := s.Loss(randomBatch(tp, n, uint64(30+i)))
		if !finite(l.Item()) {
			t.Fatal(l.Item())
		}
		keys := s.pending.Clone()
		tp.Reset()
		if !slices.Equal(old.Data, s.Queue().Data) {
			t.Fatal("Loss changed the queue (it must wait for AfterStep: the backward pass reads it)")
		}
		s.AfterStep(0)
		written := map[int]bool{}
		for j := range n {
			r := (ptr + j) % 48
			written[r] = true
			row := s.Queue().Data[r*8 : (r+1)*8]
			if !slices.Equal(row, keys.Data[j*8:(j+1)*8]) {
				t.Fatalf("step %d: queue row %d is not key %d", i, r, j)
			}
			if nrm := rowNorm(row); math.Abs(nrm-1) > 1e-5 {
				t.Fatalf("step %d: enqueued key %d has norm %v", i, j, nrm)
			}
		}
		for r := range 48 {
			if !written[r] && !slices.Equal(old.Data[r*8:(r+1)*8], s.Queue().Data[r*8:(r+1)*8]) {
				t.Fatalf("step %d: queue row %d changed but was not the oldest", i, r)
			}
		}
		ptr = (ptr + n) % 48
		if s.ptr != ptr {
			t.Fatalf("step %d: pointer %d, want %d", i, s.ptr, ptr)
		}
	}
	// AfterStep without a Loss enqueues nothing.
	old := s.Queue().Clone()
	s.AfterStep(0)
	if !slices.Equal(old.Data, s.Queue().Data) {
		t.Error("AfterStep enqueued keys twice")
	}
}

// checkEMA checks target = m·old + (1−m)·online for every parameter, and that buffers were
// copied.
func checkEMA(t *testing.T, target, online *models.Model, old [][]float32, m float64) {
	t.Helper()
	tp, op := target.Params(), online.Params()
	if len(tp) > len(op) {
		t.Fatalf("target has %d params, online %d", len(tp), len(op))
	}
	for i, p := range tp {
		if p.Name != op[i].Name {
			t.Fatalf("param %d: %s vs %s", i, p.Name, op[i].Name)
		}
		for j, v := range p.Value.Data {
			want := m*float64(old[i][j]) + (1-m)*float64(op[i].Value.Data[j])
			if math.Abs(float64(v)-want) > 1e-6*(1+math.Abs(want)) {
				t.Fatalf("%s[%d] = %v, want m·old + (1−m)·online = %v", p.Name, j, v, want)
			}
		}
	}
	ob := online.Buffers()
	for i, b := range target.Buffers() {
		if !slices.Equal(b.Value.Data, ob[i].Value.Data) {
			t.Fatalf("buffer %s not copied from the online model", b.Name)
		}
	}
}

func TestMomentumEncodersFollowTheEMA(t *testing.T) {
	for _, tc := range []struct {
		name     string
		progress float64
		m        float64 // the momentum at progress (Config.EMAMomentum 0 → 0.99)
	}{
		{"moco-v2", 0.3, 0.99},
		{"moco-v3", 0, 0.99},
		{"moco-v3", 0.5, 0.995},
		{"byol", 0.5, 0.995},
		{"byol", 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			meth := newMethod(t, tc.name, 1)
			var target *models.Model
			switch s := meth.(type) {
			case *MoCoV2:
				target = s.KeyEncoder()
			case *MoCoV3:
				target = s.MomentumEncoder()
			case *BYOL:
				target = s.Target()
			}
			if target.Predictor != nil {
				t.Fatal("the momentum encoder has a predictor")
			}
			online := meth.Model()
			if !slices.Equal(nn.Keys(target), slices.DeleteFunc(nn.Keys(online), func(k string) bool { return len(k) > 10 && k[:10] == "predictor." })) {
				t.Fatalf("target keys %v differ from the online encoder and head", nn.Keys(target))
			}
			for i, p := range target.Params() {
				if !slices.Equal(p.Value.Data, online.Params()[i].Value.Data) {
					t.Fatalf("%s: the momentum encoder does not start as a copy", p.Name)
				}
			}
			tp := autodiff.NewTape()
			opt := optim.NewAdam(meth.Params(), optim.AdamConfig{LR: 1e-2})
			opt.ZeroGrad()
			l := meth.Loss(randomBatch(tp, 8, 3))
			tp.Backward(l)
			for _, p := range target.Params() {
				if !allZero(p.Grad.Data) {
					t.Fatalf("the momentum encoder's %s received a gradient", p.Name)
				}
			}
			opt.Step()
			tp.Reset()
			old := snapshot(target.Params())
			meth.AfterStep(tc.progress)
			checkEMA(t, target, online, old, tc.m)
		})
	}
}

func TestMomentumSchedules(t *testing.T) {
	cfg := tinyConfig()
	withPredictor(&cfg)
	mp, _ := models.Build(cfg, 1)
	byol, _ := NewBYOL(mp, Config{EMAMomentum: 0.996})
	v3, _ := NewMoCoV3(mp, Config{EMAMomentum: 0.99})
	for _, tc := range []struct {
		what             string
		f                func(float64) float64
		at0, atHalf, at1 float64
	}{
		{"byol τ_base 0.996", byol.Momentum, 0.996, 0.998, 1},
		{"moco-v3 m 0.99 cosine", v3.Momentum, 0.99, 0.995, 1},
		{"moco-v3 before 0", func(float64) float64 { return v3.Momentum(-1) }, 0.99, 0.99, 0.99},
		{"moco-v3 after 1", func(float64) float64 { return v3.Momentum(2) }, 1, 1, 1},
		{"moco-v3 constant", func(p float64) float64 {
			c := *v3
			c.CosineMomentum = false
			return c.Momentum(p)
		}, 0.99, 0.99, 0.99},
	} {
		for _, pt := range []struct{ p, want float64 }{{0, tc.at0}, {0.5, tc.atHalf}, {1, tc.at1}} {
			if got := tc.f(pt.p); math.Abs(got-pt.want) > 1e-12 {
				t.Errorf("%s: momentum at %v = %v, want %v", tc.what, pt.p, got, pt.want)
			}
		}
	}
}

// TestMoCoV2SplitBNBookkeeping checks that the shuffle, the split into sub-batches and the
// un-shuffle return every key in its image's row: with BatchNorm on running statistics (eval
// mode) the keys must equal a plain forward of the view, and the queries must not depend on
// the number of groups.
func TestMoCoV2SplitBNBookkeeping(t *testing.T) {
	s := newMethod(t, "moco-v2", 1).(*MoCoV2)
	const n = 2 * minSplitBN
	if g := s.groups(n); g != 2 {
		t.Fatalf("groups(%d) = %d, want 2", n, g)
	}
	if g := s.groups(minSplitBN - 1); g != 1 {
		t.Fatalf("groups(%d) = %d, want 1", minSplitBN-1, g)
	}
	tp := autodiff.NewTape()
	b := randomBatch(tp, n, 3)
	s.key.SetTraining(false)
	perm := []int{5, 3, 17, 0, 1, 2, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 31, 30}
	for v := range 2 {
		got := noGrad(tp, func() *autodiff.Var { return s.keys(tp, b.X.Value, v*n, n, 2, perm) })
		want := s.key.Forward(b.View(v))
		for i, x := range want.Data() {
			if math.Abs(float64(got.Data()[i]-x)) > 1e-5 {
				t.Fatalf("view %d: key element %d = %v, want %v", v, i, got.Data()[i], x)
			}
		}
	}
	tp.Reset()

	s.model.SetTraining(false)
	s.Groups = 1
	one := lossOf(s, b)
	s.calls = 0
	s.Groups = 8
	split := lossOf(s, b)
	if math.Abs(float64(one-split)) > 1e-5 {
		t.Errorf("in eval mode the loss depends on the split: %v (1 group) vs %v (2 groups)", one, split)
	}
	// In training mode the split changes the BatchNorm statistics, hence the loss.
	s.model.SetTraining(true)
	s.key.SetTraining(true)
	s.Groups = 1
	one = lossOf(s, b)
	s.Groups = 8
	split = lossOf(s, b)
	if one == split {
		t.Error("split BatchNorm does not change the loss in training mode")
	}
}

func TestMoCoV2LoadStateRejectsAnotherQueue(t *testing.T) {
	a := newMethod(t, "moco-v2", 1).(*MoCoV2)
	m, _ := models.Build(tinyConfig(), 1)
	b, _ := NewMoCoV2(m, Config{QueueSize: 16})
	before := b.Queue().Clone()
	if err := b.LoadState(a.State()); err == nil {
		t.Fatal("a state with a queue of 48 loaded into a queue of 16")
	}
	if !slices.Equal(before.Data, b.Queue().Data) {
		t.Error("a failed LoadState changed the queue")
	}
	st := a.State()
	st["queue_ptr"] = u64Tensor(48)
	if err := a.LoadState(st); err == nil {
		t.Error("a queue pointer outside the queue was accepted")
	}
	for _, v := range []uint64{0, 1, 48, 1 << 40, math.MaxUint64} {
		got, err := tensorU64("x", u64Tensor(v))
		if err != nil || got != v {
			t.Errorf("u64 round trip of %d: %d, %v", v, got, err)
		}
	}
}
