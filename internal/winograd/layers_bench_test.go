package winograd

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// BenchmarkLayers times Forward, InputGrad and WeightGrad of ResNet-18's 3×3 stride-1 shapes
// (CIFAR stem on 28×28, batch 128) by process CPU time, which a shared machine disturbs less
// than wall time, and reports the products' rate: 2·16·Cin·Cout per tile over the CPU time of
// the whole call (transforms included), and the CPU ms per call.
func BenchmarkLayers(b *testing.B) {
	for _, s := range []Shape{{128, 64, 64, 28, 28}, {128, 128, 128, 14, 14}, {128, 256, 256, 7, 7}, {128, 512, 512, 4, 4}} {
		rng := rand.New(rand.NewPCG(1, 1))
		x := randSlice(rng, s.N*s.Cin*s.H*s.W, 1)
		w := randSlice(rng, s.Cout*s.Cin*9, 0.1)
		dy := randSlice(rng, s.N*s.Cout*s.H*s.W, 1)
		y, dx, dw := make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w))
		flops := 2 * xis * float64(s.Cin*s.Cout*s.N*NewGeom(s.H, s.W).Tiles())
		for _, op := range []struct {
			name string
			f    func()
		}{
			{"fwd", func() { Forward(s, x, w, nil, y) }},
			{"dX", func() { InputGrad(s, dy, w, dx) }},
			{"dW", func() { WeightGrad(s, x, dy, dw) }},
		} {
			b.Run(fmt.Sprintf("%d-%dx%d/%s", s.Cin, s.H, s.W, op.name), func(b *testing.B) {
				op.f()
				b.ResetTimer()
				start := cpuTime()
				for i := 0; i < b.N; i++ {
					op.f()
				}
				cpu := (cpuTime() - start).Seconds()
				b.ReportMetric(cpu*1e3/float64(b.N), "cpu-ms/op")
				b.ReportMetric(flops*float64(b.N)/cpu/1e9, "GFLOP/cpu-s")
			})
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
