package models

import (
	"math"
	"runtime"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/tensor"
)

// TestGradientsDoNotDependOnCores runs one forward and backward pass of ResNet-18 (CIFAR stem:
// Winograd, strided im2col and 1×1 downsample convolutions, BatchNorm) and of the default recipe
// with GOMAXPROCS 1, 2 and 3 and wants every gradient the same to the bit: the kernels split work
// over the cores but sum in fixed orders, so a run does not depend on the machine's core count.
func TestGradientsDoNotDependOnCores(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, cfg := range []Config{{Name: ResNet18CIFARName, InChannels: 1}, {Name: SmallCNNName, InChannels: 1}} {
		m, err := Build(cfg, 3)
		if err != nil {
			t.Fatal(err)
		}
		x := tensor.New(32, 1, 28, 28)
		for i := range x.Data {
			x.Data[i] = float32(math.Sin(float64(i) * 0.37))
		}
		var first [][]float32
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			tp := autodiff.NewTape()
			for _, p := range m.Params() {
				p.ZeroGrad()
			}
			z := m.Forward(tp.Constant(x))
			tp.Backward(autodiff.MeanAll(autodiff.Mul(z, z)))
			var grads [][]float32
			for _, p := range m.Params() {
				grads = append(grads, append([]float32(nil), p.Grad.Data...))
			}
			tp.Reset()
			if first == nil {
				first = grads
				continue
			}
			for i, g := range grads {
				for j, v := range g {
					if math.Float32bits(v) != math.Float32bits(first[i][j]) {
						t.Errorf("%s: GOMAXPROCS=%d: gradient of parameter %d %v differs at %d: %v, with 1 core %v",
							cfg.Name, procs, i, m.Params()[i].Shape(), j, v, first[i][j])
						break
					}
				}
			}
		}
	}
}
