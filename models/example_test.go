package models_test

import (
	"bytes"
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/tensor"
)

// Build an encoder with its projection head, run a batch through it, and save the weights as
// safetensors with PyTorch's state_dict names (models.Load reads them back, configuration
// included).
func Example() {
	m, err := models.Build(models.Config{Name: models.SmallCNNName}, 1) // the default recipe's CNN
	if err != nil {
		fmt.Println(err)
		return
	}
	tp := autodiff.NewTape()
	x := tp.Constant(tensor.New(8, 1, 28, 28)) // 8 gray 28×28 images
	h := m.Encode(x)                           // the representation: evaluate and search on h
	z := m.Project(h)                          // what the contrastive loss sees
	fmt.Println("h", h.Value.Shape, "z", z.Value.Shape, "parameters", m.NumParams())

	var buf bytes.Buffer
	if err := m.Save(&buf, nil); err != nil {
		fmt.Println(err)
		return
	}
	back, _, err := models.Load(buf.Bytes())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("loaded", back.Config.Name, "pool grid", back.Config.PoolGrid)
	// Output:
	// h [8 6272] z [8 128] parameters 3370336
	// loaded small-cnn pool grid 7
}
