package augment

import "testing"

func BenchmarkGaussianBlur224(b *testing.B) {
	img := random(3, 224, 224, 1)
	for b.Loop() {
		BlurInPlace(img, 23, 1.5)
	}
}
