package data

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/contrastive-go/contrastive/data/fmnist"
)

// FashionMNISTClasses names the ten Fashion-MNIST labels (index = label).
var FashionMNISTClasses = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// FashionMNISTSystemDir is where Debian's dataset-fashion-mnist package installs the files.
const FashionMNISTSystemDir = "/usr/share/datasets/fashion-mnist"

// FashionMNISTCacheDir returns <user cache dir>/contrastive/fashion-mnist, the second place
// OpenFashionMNIST looks ("" when the user has no cache directory).
func FashionMNISTCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "contrastive", "fashion-mnist")
}

// ErrNotFound is wrapped by the error OpenFashionMNIST returns when the files are absent.
var ErrNotFound = errors.New("dataset not found")

// OpenFashionMNIST reads a Fashion-MNIST split ("train": 60,000 images, "test": 10,000), 28×28
// gray, labels 0–9 named by FashionMNISTClasses. With dir == "" it looks in
// FashionMNISTSystemDir, then FashionMNISTCacheDir; otherwise only in dir. Each of the files
// {train,t10k}-{images-idx3,labels-idx1}-ubyte may be gzipped (.gz) or not. When they are
// absent the error (wrapping ErrNotFound) says how to get them.
func OpenFashionMNIST(split, dir string) (Dataset, error) {
	prefix, err := fmnistPrefix(split)
	if err != nil {
		return nil, err
	}
	dirs := []string{dir}
	if dir == "" {
		dirs = []string{FashionMNISTSystemDir}
		if c := FashionMNISTCacheDir(); c != "" {
			dirs = append(dirs, c)
		}
	}
	for _, d := range dirs {
		img := findFile(d, prefix+"-images-idx3-ubyte")
		lbl := findFile(d, prefix+"-labels-idx1-ubyte")
		if img == "" || lbl == "" {
			continue
		}
		ds, err := OpenIDX(img, lbl)
		if err != nil {
			return nil, err
		}
		return checkFashionMNIST(ds, img)
	}
	cache := FashionMNISTCacheDir()
	if cache == "" {
		cache = "~/.cache/contrastive/fashion-mnist"
	}
	where := strings.Join(dirs, " or ")
	return nil, fmt.Errorf("fashion-mnist %s split: %w in %s; install it with `apt-get install dataset-fashion-mnist` "+
		"(to %s), or put the four files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "+
		"t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in %s; the test split is also "+
		"embedded in the binary as \"fashion-mnist:embedded\"", split, ErrNotFound, where, FashionMNISTSystemDir, cache)
}

func fmnistPrefix(split string) (string, error) {
	switch split {
	case "train", "":
		return "train", nil
	case "test", "t10k":
		return "t10k", nil
	}
	return "", fmt.Errorf("fashion-mnist: unknown split %q (want train or test)", split)
}

// findFile returns dir/base.gz or dir/base when one exists, else "".
func findFile(dir, base string) string {
	for _, name := range []string{base + ".gz", base} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

func checkFashionMNIST(ds *U8Dataset, name string) (Dataset, error) {
	if ds.C != 1 || ds.H != 28 || ds.W != 28 {
		return nil, fmt.Errorf("fashion-mnist %s: images are %dx%dx%d, want 1x28x28", name, ds.C, ds.H, ds.W)
	}
	for i, l := range ds.Labels {
		if l >= len(FashionMNISTClasses) {
			return nil, fmt.Errorf("fashion-mnist %s: label %d of image %d is not in 0..9", name, l, i)
		}
	}
	ds.ClassNames = FashionMNISTClasses
	return ds, nil
}

// EmbeddedFashionMNIST returns the official Fashion-MNIST test split (t10k, 10,000 labelled
// images) embedded in the binary by package data/fmnist: the same bytes as
// /usr/share/datasets/fashion-mnist/t10k-*-ubyte.gz, so it needs no files on disk. It is the
// test split, not a sample of the training set: do not train and evaluate on it both.
func EmbeddedFashionMNIST() (Dataset, error) {
	const name = "fashion-mnist-embedded-t10k"
	img, err := ReadIDX(bytes.NewReader(fmnist.TestImagesGz), name+"-images")
	if err != nil {
		return nil, err
	}
	lbl, err := ReadIDX(bytes.NewReader(fmnist.TestLabelsGz), name+"-labels")
	if err != nil {
		return nil, err
	}
	ds, err := IDXImages(img, lbl, name)
	if err != nil {
		return nil, err
	}
	return checkFashionMNIST(ds, name)
}
