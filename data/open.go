package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// OpenOptions configures Open. The embedded FolderOptions apply to image folders; its Gray,
// Width, Height and Interp also apply to array sources (IDX, CIFAR, .npy images), where
// Gray converts RGB to one channel (it never expands a gray source to RGB).
type OpenOptions struct {
	FolderOptions
	// Split picks "train" (the default) or "test" for "fashion-mnist" and for directories
	// holding IDX or CIFAR files; a ":test" suffix on the spec overrides it.
	Split string
	// LabelColumn names the CSV label column (see CSVOptions).
	LabelColumn string
	// Labels names a labels file for a .npy dataset (a .npy of integers or an IDX labels file).
	Labels string
	// CIFAR100Coarse uses CIFAR-100's 20 coarse labels instead of the 100 fine ones.
	CIFAR100Coarse bool
	// FashionMNISTDir is where to look for Fashion-MNIST; "" searches (see OpenFashionMNIST).
	FashionMNISTDir string
}

// Open opens a dataset named by spec:
//
//	fashion-mnist, fashion-mnist:train, fashion-mnist:test   the installed Fashion-MNIST (the
//	                                                         test split falls back to the
//	                                                         embedded copy when not installed)
//	fashion-mnist:embedded                                   the embedded t10k test split
//	path/to/dir                                              an image folder; or a directory of
//	                                                         IDX files (train-images-idx3-ubyte…)
//	                                                         or CIFAR batches (data_batch_N.bin,
//	                                                         test_batch.bin; CIFAR-100 train.bin,
//	                                                         test.bin)
//	x.csv                                                    vectors (OpenCSV)
//	x.npy                                                    vectors or images (OpenNPY)
//	*-images-idx3-ubyte[.gz]                                 IDX images, labelled from the
//	                                                         matching *-labels-idx1-ubyte file
//	x.bin                                                    one CIFAR-10 or CIFAR-100 batch
func Open(spec string, opt OpenOptions) (Dataset, error) {
	if err := opt.DecodeOptions.check(); err != nil {
		return nil, fmt.Errorf("opening %s: %w", spec, err)
	}
	split := opt.Split
	if split == "" {
		split = "train"
	}
	if spec == "fashion-mnist" || strings.HasPrefix(spec, "fashion-mnist:") {
		if s, ok := strings.CutPrefix(spec, "fashion-mnist:"); ok {
			split = s
		}
		if split == "embedded" {
			return adapt(EmbeddedFashionMNIST())(opt)
		}
		ds, err := OpenFashionMNIST(split, opt.FashionMNISTDir)
		if errors.Is(err, ErrNotFound) && (split == "test" || split == "t10k") && opt.FashionMNISTDir == "" {
			ds, err = EmbeddedFashionMNIST()
		}
		return adapt(ds, err)(opt)
	}
	path := spec
	if s, ok := strings.CutSuffix(spec, ":test"); ok {
		path, split = s, "test"
	} else if s, ok := strings.CutSuffix(spec, ":train"); ok {
		path, split = s, "train"
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("opening dataset %q: %w (want fashion-mnist[:train|:test|:embedded], a directory, .csv, .npy, IDX or CIFAR .bin)", spec, err)
	}
	if st.IsDir() {
		return openDir(path, split, opt)
	}
	base := strings.ToLower(filepath.Base(path))
	switch {
	case strings.HasSuffix(base, ".csv"):
		return adapt(OpenCSV(path, CSVOptions{LabelColumn: opt.LabelColumn}))(opt)
	case strings.HasSuffix(base, ".npy"):
		return adapt(OpenNPY(path, opt.Labels))(opt)
	case strings.HasSuffix(base, ".bin"):
		return adapt(OpenCIFAR(cifarFormatOf(path, st.Size(), opt), path))(opt)
	case strings.Contains(base, "idx") || strings.Contains(base, "ubyte"):
		return adapt(OpenIDX(path, idxLabelsFor(path)))(opt)
	case isImageName(base):
		return nil, fmt.Errorf("opening dataset %s: a single image; give the folder that holds it", path)
	}
	return nil, fmt.Errorf("opening dataset %s: unknown kind (want a directory, .csv, .npy, an IDX file or a CIFAR .bin batch)", path)
}

// idxLabelsFor finds the labels file beside an IDX images file ("" when there is none).
func idxLabelsFor(images string) string {
	dir, base := filepath.Split(images)
	if !strings.Contains(base, "images-idx3") {
		return ""
	}
	stem := strings.TrimSuffix(strings.Replace(base, "images-idx3", "labels-idx1", 1), ".gz")
	return findFile(dir, stem)
}

func cifarFormatOf(path string, size int64, opt OpenOptions) CIFARFormat {
	lower := strings.ToLower(path)
	base := filepath.Base(lower)
	hundred := strings.Contains(lower, "cifar-100") || strings.Contains(lower, "cifar100") ||
		base == "train.bin" || base == "test.bin" ||
		(size%(2+cifarPixels) == 0 && size%(1+cifarPixels) != 0)
	switch {
	case !hundred:
		return CIFAR10
	case opt.CIFAR100Coarse:
		return CIFAR100Coarse
	}
	return CIFAR100Fine
}

// openDir opens a directory of IDX files, of CIFAR batches, or of images.
func openDir(dir, split string, opt OpenOptions) (Dataset, error) {
	prefix, err := fmnistPrefix(split)
	if err != nil {
		return nil, fmt.Errorf("opening %s: unknown split %q (want train or test)", dir, split)
	}
	if img := findFile(dir, prefix+"-images-idx3-ubyte"); img != "" {
		return adapt(OpenIDX(img, idxLabelsFor(img)))(opt)
	}
	if _, err := os.Stat(filepath.Join(dir, "data_batch_1.bin")); err == nil {
		files := []string{filepath.Join(dir, "test_batch.bin")}
		if prefix == "train" {
			files, _ = filepath.Glob(filepath.Join(dir, "data_batch_*.bin"))
			sort.Strings(files)
		}
		return adapt(OpenCIFAR(CIFAR10, files...))(opt)
	}
	if f := filepath.Join(dir, map[string]string{"train": "train.bin", "t10k": "test.bin"}[prefix]); fileExists(f) {
		format := CIFAR100Fine
		if opt.CIFAR100Coarse {
			format = CIFAR100Coarse
		}
		return adapt(OpenCIFAR(format, f))(opt)
	}
	return OpenImageFolder(dir, opt.FolderOptions)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// adapt applies the gray and resize options of opt to an array dataset.
func adapt[D Dataset](ds D, err error) func(OpenOptions) (Dataset, error) {
	return func(opt OpenOptions) (Dataset, error) {
		if err != nil {
			return nil, err
		}
		return Convert(ds, opt.Gray, opt.Width, opt.Height, opt.Interp), nil
	}
}

// Convert returns ds with each image converted to one channel (when gray is set and the
// image has three) and resized to w×h (when both are > 0). It returns ds itself when there is
// nothing to do; otherwise the conversion happens in Get.
func Convert(ds Dataset, gray bool, w, h int, interp Interp) Dataset {
	if !gray && (w <= 0 || h <= 0) {
		return ds
	}
	return &converted{ds: ds, gray: gray, w: w, h: h, interp: interp}
}

type converted struct {
	ds     Dataset
	gray   bool
	w, h   int
	interp Interp
}

func (c *converted) Len() int          { return c.ds.Len() }
func (c *converted) Classes() []string { return c.ds.Classes() }

func (c *converted) Label(i int) int {
	if l, ok := c.ds.(Labeler); ok {
		return l.Label(i)
	}
	s, err := c.ds.Get(i)
	if err != nil {
		return -1
	}
	return s.Label
}

func (c *converted) Get(i int) (Sample, error) {
	s, err := c.ds.Get(i)
	if err != nil {
		return s, err
	}
	m := s.Image
	if c.gray && m.C == 3 {
		g := NewImage(1, m.H, m.W)
		n := m.H * m.W
		for j := range g.Pix {
			// ITU-R 601 luma, as FromImage.
			g.Pix[j] = (19595*m.Pix[j] + 38470*m.Pix[n+j] + 7471*m.Pix[2*n+j]) / 65536
		}
		m = g
	}
	if c.w > 0 && c.h > 0 && (m.W != c.w || m.H != c.h) {
		m = Resize(m, c.w, c.h, c.interp)
	}
	s.Image = m
	return s, nil
}
