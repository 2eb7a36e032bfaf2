package bench

import (
	"math"
	"testing"
)

// TestStepLearns checks the reference step is the reference model and that it learns.
func TestStepLearns(t *testing.T) {
	s, err := NewStep(32)
	if err != nil {
		t.Fatal(err)
	}
	if s.Params() != 117664 {
		t.Errorf("reference model has %d parameters, want 117,664", s.Params())
	}
	// The step cycles through 4 fixed batches: after one round of training, each batch's loss
	// must be clearly lower than the first time it was seen (about 12-18% lower on Fashion-MNIST
	// at batch 32; a step that does not learn, or climbs the gradient, changes it by ~0 or up).
	const batches = 4
	var first [batches]float32
	for i := range first {
		first[i] = s.Run()
	}
	for i := range first {
		second := s.Run()
		if !(second < 0.95*first[i]) {
			t.Errorf("batch %d: loss %.4f at first, %.4f after %d more steps; want at least 5%% lower", i, first[i], second, batches)
		}
	}
}

// BenchmarkSimCLRStep is the reference SimCLR training step at 256 images × 2 views; compare with
// `../shared/bench/torch_ref.py step` on the same machine.
func BenchmarkSimCLRStep(b *testing.B) {
	s, err := NewStep(256)
	if err != nil {
		b.Fatal(err)
	}
	s.Run()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Run()
	}
	b.ReportMetric(float64(256*b.N)/b.Elapsed().Seconds(), "images/s")
}

func TestResNet18StepLearns(t *testing.T) {
	if testing.Short() {
		t.Skip("ResNet-18 steps take seconds")
	}
	s, err := NewResNet18Step(4)
	if err != nil {
		t.Fatal(err)
	}
	if s.Params() != 11176512+512*512+512+512*128+128 {
		t.Errorf("ResNet-18 + head has %d parameters, want %d", s.Params(), 11176512+512*512+512+512*128+128)
	}
	first := s.Run()
	last := s.Run()
	for i := 0; i < 2; i++ {
		last = s.Run()
	}
	if math.IsNaN(float64(last)) || first == last {
		t.Errorf("loss %v then %v: the step must change it", first, last)
	}
}

// BenchmarkResNet18SimCLRStep is the photo-sized SimCLR step: ResNet-18 (ImageNet stem) with the
// 512→512→128 head on 64 images × 2 views of 3×96×96; compare with
// bench/torch_simclr_resnet18.py on the same machine (bench/compare.sh does both, alternating).
func BenchmarkResNet18SimCLRStep(b *testing.B) {
	s, err := NewResNet18Step(64)
	if err != nil {
		b.Fatal(err)
	}
	s.Run()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Run()
	}
	b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "images/s")
}
