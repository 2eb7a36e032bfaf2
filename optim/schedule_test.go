package optim_test

import (
	"math"
	"testing"

	"github.com/contrastive-go/contrastive/optim"
)

func TestWarmupCosine(t *testing.T) {
	const base, final = 0.4, 0.004
	cases := []struct {
		name                string
		step, warmup, total int
		want                float64
	}{
		{"StartOfWarmupIsZero", 0, 10, 110, 0},
		{"MidWarmup", 5, 10, 110, base / 2},
		{"LastWarmupStep", 9, 10, 110, base * 0.9},
		{"EndOfWarmupIsBase", 10, 10, 110, base},
		{"MidDecayIsHalfway", 60, 10, 110, (base + final) / 2},
		{"QuarterDecay", 35, 10, 110, final + (base-final)*0.5*(1+math.Cos(math.Pi/4))},
		{"EndIsFinal", 110, 10, 110, final},
		{"PastEndStaysFinal", 500, 10, 110, final},
		{"NoWarmupStartsAtBase", 0, 0, 100, base},
		{"NoWarmupMid", 50, 0, 100, (base + final) / 2},
	}
	for _, c := range cases {
		if got := optim.WarmupCosine(c.step, c.warmup, c.total, base, final); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: WarmupCosine(%d, %d, %d) = %v, want %v", c.name, c.step, c.warmup, c.total, got, c.want)
		}
	}
	// Decreasing after warm-up.
	prev := math.Inf(1)
	for s := 10; s <= 110; s++ {
		v := optim.WarmupCosine(s, 10, 110, base, final)
		if v > prev {
			t.Fatalf("lr rises at step %d: %v > %v", s, v, prev)
		}
		prev = v
	}
}

func TestSchedules(t *testing.T) {
	c := optim.Constant(3e-4)
	cos := optim.Cosine(10, 110, 0.4, 0)
	for _, s := range []int{0, 10, 60, 1000} {
		if c(s) != 3e-4 {
			t.Errorf("Constant at %d = %v", s, c(s))
		}
		if cos(s) != optim.WarmupCosine(s, 10, 110, 0.4, 0) {
			t.Errorf("Cosine at %d = %v, differs from WarmupCosine", s, cos(s))
		}
	}
	for _, bad := range [][3]int{{0, -1, 10}, {0, 20, 10}, {-1, 0, 10}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("WarmupCosine(step %d, warmup %d, total %d) did not panic", bad[0], bad[1], bad[2])
				}
			}()
			optim.WarmupCosine(bad[0], bad[1], bad[2], 1, 0)
		}()
	}
}
