package data

import "fmt"

// U8Dataset is an in-memory dataset of 8-bit images, the storage used by the IDX and CIFAR
// readers: 1 byte per value, converted to float32 in [0, 1] (v/255) by Get. Its fields may be
// set directly to wrap existing arrays.
type U8Dataset struct {
	N, C, H, W int
	Pix        []uint8  // len N*C*H*W, image i at Pix[i*C*H*W:], CHW order
	Labels     []int    // len N, or nil for an unlabelled dataset
	ClassNames []string // names of the labels; nil when unlabelled
	Name       string   // prefix of sample IDs, e.g. the file name
}

// Len returns the number of images.
func (d *U8Dataset) Len() int { return d.N }

// Classes names the labels (index = label), nil when unlabelled.
func (d *U8Dataset) Classes() []string { return d.ClassNames }

// Label returns the label of sample i without converting its image (-1 when unlabelled).
func (d *U8Dataset) Label(i int) int {
	if d.Labels == nil {
		return -1
	}
	return d.Labels[i]
}

// Raw returns the stored bytes of image i (CHW order, not a copy: do not modify).
func (d *U8Dataset) Raw(i int) []uint8 {
	n := d.C * d.H * d.W
	return d.Pix[i*n : (i+1)*n : (i+1)*n]
}

// GetInto converts image i into dst (len C*H*W) without allocating.
func (d *U8Dataset) GetInto(i int, dst []float32) error {
	if i < 0 || i >= d.N {
		return fmt.Errorf("%s: index %d out of range [0, %d)", d.Name, i, d.N)
	}
	src := d.Raw(i)
	if len(dst) != len(src) {
		return fmt.Errorf("%s: GetInto needs %d values, got %d", d.Name, len(src), len(dst))
	}
	for j, v := range src {
		dst[j] = u8ToF32[v]
	}
	return nil
}

// Get returns sample i as a new float32 image in [0, 1].
func (d *U8Dataset) Get(i int) (Sample, error) {
	if i < 0 || i >= d.N {
		return Sample{}, fmt.Errorf("%s: index %d out of range [0, %d)", d.Name, i, d.N)
	}
	img := NewImage(d.C, d.H, d.W)
	_ = d.GetInto(i, img.Pix)
	return Sample{Image: img, Label: d.Label(i), ID: fmt.Sprintf("%s#%d", d.Name, i)}, nil
}

// u8ToF32 maps a byte to v/255 exactly as float32(v)/255 would.
var u8ToF32 = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return
}()

// F32Dataset is an in-memory dataset of float32 images or vectors (a vector is C = H = 1,
// W = dimension), used by the CSV and .npy readers. Get returns a copy.
type F32Dataset struct {
	N, C, H, W int
	Pix        []float32 // len N*C*H*W
	Labels     []int     // len N, or nil for an unlabelled dataset
	ClassNames []string  // names of the labels; nil when unlabelled
	Name       string    // prefix of sample IDs, e.g. the file name
}

// Len returns the number of samples.
func (d *F32Dataset) Len() int { return d.N }

// Classes names the labels (index = label), nil when unlabelled.
func (d *F32Dataset) Classes() []string { return d.ClassNames }

// Label returns the label of sample i (-1 when unlabelled).
func (d *F32Dataset) Label(i int) int {
	if d.Labels == nil {
		return -1
	}
	return d.Labels[i]
}

// Get returns a copy of sample i.
func (d *F32Dataset) Get(i int) (Sample, error) {
	if i < 0 || i >= d.N {
		return Sample{}, fmt.Errorf("%s: index %d out of range [0, %d)", d.Name, i, d.N)
	}
	n := d.C * d.H * d.W
	img := NewImage(d.C, d.H, d.W)
	copy(img.Pix, d.Pix[i*n:(i+1)*n])
	return Sample{Image: img, Label: d.Label(i), ID: fmt.Sprintf("%s#%d", d.Name, i)}, nil
}

// Labeler is implemented by datasets that can report a label without decoding the image.
type Labeler interface {
	Label(i int) int
}

// Labels returns the label of every sample, using Labeler when the dataset implements it and
// Get otherwise.
func Labels(ds Dataset) ([]int, error) {
	out := make([]int, ds.Len())
	if l, ok := ds.(Labeler); ok {
		for i := range out {
			out[i] = l.Label(i)
		}
		return out, nil
	}
	for i := range out {
		s, err := ds.Get(i)
		if err != nil {
			return nil, err
		}
		out[i] = s.Label
	}
	return out, nil
}

// Subset returns the samples of ds at the given indices, in that order (indices may repeat).
// It panics if an index is out of range: indices are the caller's, not user input.
func Subset(ds Dataset, idx []int) Dataset {
	n := ds.Len()
	for _, i := range idx {
		if i < 0 || i >= n {
			panic(fmt.Sprintf("data.Subset: index %d out of range [0, %d)", i, n))
		}
	}
	return &subset{ds: ds, idx: append([]int(nil), idx...)}
}

type subset struct {
	ds  Dataset
	idx []int
}

func (s *subset) Len() int          { return len(s.idx) }
func (s *subset) Classes() []string { return s.ds.Classes() }
func (s *subset) Get(i int) (Sample, error) {
	if i < 0 || i >= len(s.idx) {
		return Sample{}, fmt.Errorf("subset: index %d out of range [0, %d)", i, len(s.idx))
	}
	return s.ds.Get(s.idx[i])
}

// Label implements Labeler (falls back to Get when the parent is not a Labeler).
func (s *subset) Label(i int) int {
	if l, ok := s.ds.(Labeler); ok {
		return l.Label(s.idx[i])
	}
	sm, err := s.ds.Get(s.idx[i])
	if err != nil {
		return -1
	}
	return sm.Label
}
