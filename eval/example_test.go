package eval_test

import (
	"fmt"

	"github.com/contrastive-go/contrastive/eval"
)

// The raw-pixel baseline: bytes in, kNN accuracy out.
func ExampleKNN() {
	// Four 2-pixel "images" in two classes, and two queries.
	bank, _ := eval.FromBytes(4, 2, []byte{250, 10, 240, 0, 5, 255, 20, 230})
	queries, _ := eval.FromBytes(2, 2, []byte{200, 30, 10, 200})
	res, err := eval.KNN(bank, []int{0, 0, 1, 1}, queries, []int{0, 1}, eval.KNNOptions{K: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Predictions, res.Top1)
	// Output: [0 1] 1
}

// A dataset without a test split: hold out 20% of each class as kNN queries.
func ExampleStratifiedSplit() {
	labels := []int{0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2}
	bank, query := eval.StratifiedSplit(labels, 0, 7)
	fmt.Println(len(bank), len(query), eval.Pick(labels, query))
	// Output: 9 2 [0 1]
}

func ExampleUniformity() {
	// Two antipodal points: log exp(−2·‖x−y‖²) = −2·4.
	x, _ := eval.NewFeatures(2, 2, []float32{1, 0, -1, 0})
	u, _ := eval.Uniformity(x, eval.UniformityOptions{})
	a, _ := eval.Alignment(x, x, 2)
	fmt.Println(u, a)
	// Output: -8 0
}
