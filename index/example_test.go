package index_test

import (
	"fmt"

	"github.com/contrastive-go/contrastive/index"
)

// An index holds unit vectors with ids (and optional labels); Search answers the k most
// cosine-similar rows per query, best first.
func Example() {
	weights := []byte("the bytes of model.safetensors") // the model that made the vectors
	x, err := index.New(index.Meta{Model: index.Fingerprint(weights), Dim: 3, Features: "h"})
	if err != nil {
		panic(err)
	}
	_, _, err = x.Add(index.Batch{
		Vectors: []float32{
			1, 0, 0,
			0, 1, 0,
			0.9, 0.1, 0,
		},
		IDs:     []string{"cat.jpg", "dog.jpg", "kitten.jpg"},
		Labels:  []int{0, 1, 0},
		Classes: []string{"cat", "dog"},
	})
	if err != nil {
		panic(err)
	}
	hits, err := x.Search([]float32{1, 0.05, 0}, 2)
	if err != nil {
		panic(err)
	}
	for _, h := range hits[0] {
		fmt.Printf("%s (%s) %.3f\n", x.ID(h.Row), x.ClassName(h.Row), h.Score)
	}
	// Output:
	// cat.jpg (cat) 0.999
	// kitten.jpg (cat) 0.998
}
