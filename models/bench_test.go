package models

import (
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/tensor"
)

// BenchmarkResNet18CIFARStep times forward and backward of ResNet-18 with the CIFAR stem (one
// input channel, default head) on 128 images of 28×28, loss mean(z²): the engine's cost for the
// encoder users reach for on photos. bench/torch_resnet18.py is the PyTorch peer of the same
// computation (run them alternately).
func BenchmarkResNet18CIFARStep(b *testing.B) {
	m, err := Build(Config{Name: ResNet18CIFARName, InChannels: 1}, 1)
	if err != nil {
		b.Fatal(err)
	}
	x := tensor.New(128, 1, 28, 28)
	for i := range x.Data {
		x.Data[i] = float32(i%17) * 0.05
	}
	tp := autodiff.NewTape()
	tp.FreeValues = true // as bench.Step: nothing is read after Backward
	step := func() {
		z := m.Forward(tp.Constant(x))
		tp.Backward(autodiff.MeanAll(autodiff.Mul(z, z)))
		tp.Reset()
	}
	step() // warm the pools
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.ReportMetric(128*float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
