package data_test

import (
	"fmt"

	"github.com/contrastive-go/contrastive/data"
)

// Open the Fashion-MNIST test split that ships inside the binary, and take a subset.
func ExampleOpen() {
	ds, err := data.Open("fashion-mnist:embedded", data.OpenOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	first := data.Subset(ds, []int{0, 1, 2})
	s, _ := first.Get(0)
	fmt.Println(ds.Len(), first.Len(), s.Image.C, s.Image.H, s.Image.W, ds.Classes()[s.Label])
	// Output: 10000 3 1 28 28 Ankle boot
}
