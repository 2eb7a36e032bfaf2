// Package eval measures representations: features in, numbers out. It knows nothing of models or of
// the autodiff engine, so any embedding (a trained encoder's h, raw pixels, a file of vectors) can be
// scored the same way.
//
// The evaluation protocol of the project (see DESIGN.md, "Evaluation protocol"):
//
//   - weighted kNN (Wu et al. 2018, "Unsupervised Feature Learning via Non-Parametric Instance
//     Discrimination"; the form used by lightly and solo-learn): L2-normalised training features are
//     the memory bank, test features are queries, cosine similarity, k = 200, weight exp(sim/0.1),
//     the class with the largest summed weight wins — see KNN;
//   - linear probe: multinomial logistic regression on frozen, standardised features, mini-batch
//     Adam (lr 1e-3, batch 256) for 30 epochs — see LinearProbe;
//   - alignment and uniformity (Wang & Isola 2020) — see Alignment and Uniformity;
//   - always beside them the same kNN on raw pixels (FromDataset or FromBytes, then KNN): a
//     representation that does not beat raw pixels has learned nothing.
//
// Shape mismatches between arguments that a program builds itself (a Features whose Data does not
// hold N·D values) panic with a message naming the shapes; inconsistent user input (label counts,
// out-of-range labels, bad options) returns an error.
package eval

import (
	"fmt"

	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/internal/vec"
)

// Features is a row-major [N, D] matrix of float32 features: row i is Data[i*D : (i+1)*D].
type Features struct {
	N, D int
	Data []float32
}

// NewFeatures wraps data (not copied) as an [n, d] matrix. It returns an error when len(data) is
// not n·d or a size is negative.
func NewFeatures(n, d int, data []float32) (Features, error) {
	if n < 0 || d < 0 {
		return Features{}, fmt.Errorf("eval: negative feature shape [%d, %d]", n, d)
	}
	if len(data) != n*d {
		return Features{}, fmt.Errorf("eval: features [%d, %d] need %d values, got %d", n, d, n*d, len(data))
	}
	return Features{N: n, D: d, Data: data}, nil
}

// FromBytes converts n flattened 8-bit images (or any byte vectors) of d values each to features
// scaled to [0, 1] (v/255) — the raw-pixel baseline of the protocol. Under the protocol, raw
// Fashion-MNIST pixels give kNN top-1 0.789. It returns an error when len(pix) is not n·d.
func FromBytes(n, d int, pix []byte) (Features, error) {
	if n < 0 || d < 0 || len(pix) != n*d {
		return Features{}, fmt.Errorf("eval: %d bytes cannot be %d vectors of %d values", len(pix), n, d)
	}
	out := make([]float32, len(pix))
	for i, v := range pix {
		out[i] = float32(v) / 255
	}
	return Features{N: n, D: d, Data: out}, nil
}

// FromImages flattens images (CHW order) into one row each. All images must have the same size;
// an error names the first that does not.
func FromImages(imgs []data.Image) (Features, error) {
	if len(imgs) == 0 {
		return Features{}, nil
	}
	d := len(imgs[0].Pix)
	out := make([]float32, 0, len(imgs)*d)
	for i, im := range imgs {
		if len(im.Pix) != d || im.C*im.H*im.W != d {
			return Features{}, fmt.Errorf("eval: image %d is %dx%dx%d (%d values), image 0 has %d values",
				i, im.C, im.H, im.W, len(im.Pix), d)
		}
		out = append(out, im.Pix...)
	}
	return Features{N: len(imgs), D: d, Data: out}, nil
}

// FromDataset reads every sample of ds and returns its flattened pixels and labels: the raw-pixel
// baseline is
//
//	bank, bankLabels, _ := eval.FromDataset(train)
//	queries, queryLabels, _ := eval.FromDataset(test)
//	res, _ := eval.KNN(bank, bankLabels, queries, queryLabels, eval.KNNOptions{})
func FromDataset(ds data.Dataset) (Features, []int, error) {
	n := ds.Len()
	imgs := make([]data.Image, n)
	labels := make([]int, n)
	for i := 0; i < n; i++ {
		s, err := ds.Get(i)
		if err != nil {
			return Features{}, nil, fmt.Errorf("eval: reading sample %d: %w", i, err)
		}
		imgs[i], labels[i] = s.Image, s.Label
	}
	f, err := FromImages(imgs)
	if err != nil {
		return Features{}, nil, err
	}
	return f, labels, nil
}

// Row returns row i (a view, not a copy).
func (f Features) Row(i int) []float32 { return f.Data[i*f.D : (i+1)*f.D] }

// Subset returns a copy of the rows idx, in that order.
func (f Features) Subset(idx []int) Features {
	f.check("Subset")
	out := make([]float32, len(idx)*f.D)
	for r, i := range idx {
		if i < 0 || i >= f.N {
			panic(fmt.Sprintf("eval: Subset index %d out of range for features [%d, %d]", i, f.N, f.D))
		}
		copy(out[r*f.D:(r+1)*f.D], f.Row(i))
	}
	return Features{N: len(idx), D: f.D, Data: out}
}

// Normalized returns a copy with every row divided by max(‖row‖₂, 1e-12), the convention of
// torch.nn.functional.normalize. A zero row stays zero.
func (f Features) Normalized() Features {
	f.check("Normalized")
	out := Features{N: f.N, D: f.D, Data: make([]float32, len(f.Data))}
	if f.D > 0 {
		vec.NormalizeRows(out.Data, f.Data, f.D, 1e-12, nil)
	}
	return out
}

// check panics when f's Data does not hold N·D values: a Features built by hand with a wrong
// shape is a programming error.
func (f Features) check(op string) {
	if f.N < 0 || f.D < 0 || len(f.Data) != f.N*f.D {
		panic(fmt.Sprintf("eval.%s: features [%d, %d] need %d values, Data has %d", op, f.N, f.D, f.N*f.D, len(f.Data)))
	}
}

// checkLabels validates labels against n rows and returns the number of classes: classes when it
// is positive, else max(label)+1.
func checkLabels(what string, labels []int, n, classes int) (int, error) {
	if len(labels) != n {
		return 0, fmt.Errorf("eval: %s: %d labels for %d feature rows", what, len(labels), n)
	}
	maxL := -1
	for i, l := range labels {
		if l < 0 || (classes > 0 && l >= classes) {
			if classes > 0 {
				return 0, fmt.Errorf("eval: %s: label %d of row %d is outside [0, %d)", what, l, i, classes)
			}
			return 0, fmt.Errorf("eval: %s: label %d of row %d is negative", what, l, i)
		}
		if l > maxL {
			maxL = l
		}
	}
	if classes > 0 {
		return classes, nil
	}
	return maxL + 1, nil
}

// seq returns 0, 1, …, n−1.
func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
