// Package tensor holds the engine's float32 tensors: a shape and contiguous row-major data.
//
// The numeric core knows nothing of models or gradients: package autodiff builds on it. A shape
// mismatch is a programmer error and panics at once with a message naming the shapes involved.
package tensor

import (
	"fmt"
	"strings"
)

// Tensor is a dense row-major float32 array. The zero value is an empty scalar-less tensor.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Numel returns the number of elements of a shape.
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

// New returns a zero tensor of the given shape.
func New(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, Numel(shape))}
}

// FromSlice wraps data (not copied) in a tensor of the given shape.
func FromSlice(data []float32, shape ...int) *Tensor {
	if n := Numel(shape); n != len(data) {
		panic(fmt.Sprintf("tensor.FromSlice: shape %v needs %d elements, got %d", shape, n, len(data)))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// Scalar returns a one-element tensor of shape [1].
func Scalar(v float32) *Tensor { return &Tensor{Shape: []int{1}, Data: []float32{v}} }

// Numel returns the number of elements.
func (t *Tensor) Numel() int { return len(t.Data) }

// Dims returns the number of dimensions.
func (t *Tensor) Dims() int { return len(t.Shape) }

// Dim returns the size of dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.Shape)
	}
	if i < 0 || i >= len(t.Shape) {
		panic(fmt.Sprintf("tensor.Dim: axis %d out of range for shape %v", i, t.Shape))
	}
	return t.Shape[i]
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Zero sets every element to 0.
func (t *Tensor) Zero() { clear(t.Data) }

// Fill sets every element to v.
func (t *Tensor) Fill(v float32) {
	for i := range t.Data {
		t.Data[i] = v
	}
}

// Reshape returns a tensor sharing t's data with a new shape of the same size. One dimension may
// be -1 and is then inferred.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	return &Tensor{Shape: InferShape(t.Data, t.Shape, shape), Data: t.Data}
}

// InferShape resolves a -1 in shape against the number of elements of data and checks the sizes
// agree; old is only used in the panic message.
func InferShape(data []float32, old, shape []int) []int {
	out := append([]int(nil), shape...)
	infer, known := -1, 1
	for i, d := range out {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			panic(fmt.Sprintf("tensor.Reshape: invalid shape %v for %v", shape, old))
		default:
			known *= d
		}
	}
	if infer >= 0 {
		if known == 0 || len(data)%known != 0 {
			panic(fmt.Sprintf("tensor.Reshape: cannot reshape %v into %v", old, shape))
		}
		out[infer] = len(data) / known
		known *= out[infer]
	}
	if known != len(data) {
		panic(fmt.Sprintf("tensor.Reshape: cannot reshape %v (%d elements) into %v", old, len(data), shape))
	}
	return out
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// String shows the shape and, for small tensors, the values.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v", t.Shape)
	if len(t.Data) <= 16 {
		fmt.Fprintf(&b, "%v", t.Data)
	}
	return b.String()
}
