package autodiff

import (
	"fmt"
	"testing"
)

// BenchmarkConvResNetStrided times ResNet-18's strided convolutions (batch 128), which run on
// im2col rather than Winograd: the first 3×3 stride-2 convolution of stages 2-4 on the CIFAR
// stem's 28×28 and on 96×96 photos (24×24 after the ImageNet stem), their 1×1 stride-2
// downsamples, and the ImageNet stem itself (7×7 stride 2 on RGB, no input gradient), forward
// alone and forward+backward, reporting CPU time too. bench/torch_conv_layers.py times the same
// layers in PyTorch.
func BenchmarkConvResNetStrided(b *testing.B) {
	for _, l := range []struct {
		x, w []int
		s, p int
	}{
		{[]int{128, 64, 28, 28}, []int{128, 64, 3, 3}, 2, 1},
		{[]int{128, 128, 14, 14}, []int{256, 128, 3, 3}, 2, 1},
		{[]int{128, 256, 7, 7}, []int{512, 256, 3, 3}, 2, 1},
		{[]int{128, 64, 24, 24}, []int{128, 64, 3, 3}, 2, 1},
		{[]int{128, 128, 12, 12}, []int{256, 128, 3, 3}, 2, 1},
		{[]int{128, 256, 6, 6}, []int{512, 256, 3, 3}, 2, 1},
		{[]int{128, 64, 28, 28}, []int{128, 64, 1, 1}, 2, 0},
		{[]int{128, 128, 14, 14}, []int{256, 128, 1, 1}, 2, 0},
		{[]int{128, 256, 7, 7}, []int{512, 256, 1, 1}, 2, 0},
		{[]int{128, 3, 96, 96}, []int{64, 3, 7, 7}, 2, 3},
	} {
		x, w := benchRand(l.x...), benchRand(l.w...)
		name := fmt.Sprintf("%dx%dx%d-%dk%ds%d", l.x[1], l.x[2], l.x[3], l.w[0], l.w[2], l.s)
		for _, pass := range []string{"fwd", "fwd+bwd"} {
			b.Run(name+"/"+pass, func(b *testing.B) { benchConvPass(b, x, w, l.s, l.p, pass == "fwd", l.x[1] > 3) })
		}
	}
}
