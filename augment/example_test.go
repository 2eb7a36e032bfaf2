package augment_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/augment"
	"github.com/contrastive-go/contrastive/data"
)

// Two views of one image with the reference model's augmentation, written into a batch slot.
func ExamplePreset() {
	views, err := augment.Preset("small-gray", 28, 1)
	if err != nil {
		panic(err)
	}
	img := data.NewImage(1, 28, 28)
	batch := make([]float32, 2*28*28) // view-major: view 0, then view 1
	var s augment.Scratch
	for v, t := range views {
		out := augment.ApplyTo(t, batch[v*784:(v+1)*784], img, augment.SampleRNG(1, 0, 0, v), &s)
		fmt.Println(out.C, out.H, out.W)
	}
	// Output:
	// 1 28 28
	// 1 28 28
}

// A custom step in a pipeline: any function is a Transform.
func ExampleFunc() {
	invert := augment.Func(func(img data.Image, _ *rand.Rand) data.Image {
		out := img.Clone()
		for i, v := range out.Pix {
			out.Pix[i] = 1 - v
		}
		return out
	})
	p := augment.Compose(invert, augment.Normalize{Mean: []float32{0.5}, Std: []float32{0.5}})
	img := data.NewImage(1, 1, 2)
	img.Pix[1] = 1
	fmt.Println(p.Apply(img, nil).Pix, img.Pix)
	// Output: [1 -1] [0 1]
}
