package loss_test

import (
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/loss"
	"github.com/contrastive-go/contrastive/tensor"
)

// Two views of two samples: rows 0 and 2 are sample 0, rows 1 and 3 are sample 1.
func ExampleNTXent() {
	tp := autodiff.NewTape()
	z := tp.Variable(tensor.FromSlice([]float32{
		1, 0, // sample 0, view 1
		0, 1, // sample 1, view 1
		1, 0.1, // sample 0, view 2
		0.1, 1, // sample 1, view 2
	}, 4, 2))
	l := loss.NTXent(z, 0.5)
	tp.Backward(l)
	fmt.Printf("loss %.4f\n", l.Item())
	fmt.Printf("dloss/dz[0] %.4f\n", z.Grad.Data[:2])
	// Output:
	// loss 0.2899
	// dloss/dz[0] [0.0000 0.2041]
}

func ExampleSupCon() {
	tp := autodiff.NewTape()
	z := tp.Variable(tensor.FromSlice([]float32{1, 0, 0.9, 0.1, 0, 1, 1, 0.2}, 4, 2)) // 2 views × 2 samples
	l := loss.SupCon(z, []int{7, 7}, 0.1, 0.1)                                        // both samples share label 7
	fmt.Printf("%.4f\n", l.Item())
	// Output: 3.0882
}
