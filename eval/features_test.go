package eval

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/data"
)

type fakeDataset struct {
	samples []data.Sample
	fail    int // index whose Get fails, or -1
}

func (f fakeDataset) Len() int          { return len(f.samples) }
func (f fakeDataset) Classes() []string { return nil }
func (f fakeDataset) Get(i int) (data.Sample, error) {
	if i == f.fail {
		return data.Sample{}, errors.New("disk on fire")
	}
	return f.samples[i], nil
}

func img(c, h, w int, v ...float32) data.Image {
	return data.Image{C: c, H: h, W: w, Pix: v}
}

// TestFromDataset: every sample becomes one flattened row and its label; unequal image sizes
// and read failures are errors naming the sample.
func TestFromDataset(t *testing.T) {
	ok := fakeDataset{fail: -1, samples: []data.Sample{
		{Image: img(1, 1, 2, 0.5, 1), Label: 3},
		{Image: img(2, 1, 1, 0, 0.25), Label: 1},
	}}
	f, labels, err := FromDataset(ok)
	if err != nil {
		t.Fatal(err)
	}
	if f.N != 2 || f.D != 2 || !reflect.DeepEqual(f.Data, []float32{0.5, 1, 0, 0.25}) || !reflect.DeepEqual(labels, []int{3, 1}) {
		t.Errorf("got %+v labels %v", f, labels)
	}
	cases := []struct {
		name       string
		ds         fakeDataset
		wantSubstr string
	}{
		{"unequal sizes", fakeDataset{fail: -1, samples: []data.Sample{{Image: img(1, 1, 2, 0, 0)}, {Image: img(1, 1, 3, 0, 0, 0)}}}, "image 1 is 1x1x3"},
		{"read failure", fakeDataset{fail: 1, samples: make([]data.Sample, 2)}, "sample 1: disk on fire"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := FromDataset(tc.ds); err == nil || !strings.Contains(err.Error(), tc.wantSubstr) {
				t.Errorf("error %v, want one containing %q", err, tc.wantSubstr)
			}
		})
	}
}

// TestNormalized: unit rows, zero rows stay zero, the input is not modified.
func TestNormalized(t *testing.T) {
	f := Features{N: 3, D: 2, Data: []float32{3, 4, 0, 0, -2, 0}}
	got := f.Normalized()
	if want := []float32{0.6, 0.8, 0, 0, -1, 0}; !reflect.DeepEqual(got.Data, want) {
		t.Errorf("Normalized = %v, want %v", got.Data, want)
	}
	if f.Data[0] != 3 {
		t.Error("Normalized modified its input")
	}
	if _, err := NewFeatures(2, 3, make([]float32, 5)); err == nil {
		t.Error("NewFeatures accepted 5 values as [2, 3]")
	}
}
