package autodiff

import "testing"

// BenchmarkMaxPoolStem times the ResNet stem's 3×3 stride-2 pad-1 max pool, forward (recording
// the argmax) and backward alone, on the 96-pixel SimCLR batch (64 images × 2 views):
// 128×64×48×48, 75 MB, more than the L3 cache as in training. forward-go is the forward without
// the assembly kernel.
func BenchmarkMaxPoolStem(b *testing.B) {
	x := benchRand(128, 64, 48, 48)
	forward := func(b *testing.B) {
		b.SetBytes(int64(4 * len(x.Data)))
		tp := NewTape()
		for b.Loop() {
			MaxPool2dPadded(tp.Variable(x), 3, 2, 1)
			tp.Reset()
		}
	}
	b.Run("forward", forward)
	b.Run("forward-go", func(b *testing.B) {
		defer func(v bool) { maxPoolAsm = v }(maxPoolAsm)
		maxPoolAsm = false
		forward(b)
	})
	b.Run("backward", func(b *testing.B) {
		b.SetBytes(int64(4 * len(x.Data)))
		tp := NewTape()
		g := benchRand(128, 64, 24, 24)
		for b.Loop() {
			b.StopTimer()
			tp.Reset()
			out := MaxPool2dPadded(tp.Variable(x), 3, 2, 1)
			b.StartTimer()
			runBackward(out, g) // including x's gradient buffer from the tape's pool
		}
	})
}
