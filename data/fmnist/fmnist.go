// Package fmnist embeds the official Fashion-MNIST test split (t10k: 10,000 labelled 28×28
// grayscale images, the files t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz as
// published by Zalando Research and shipped by Debian's dataset-fashion-mnist), so that demos
// and tests run on a machine without the dataset installed.
//
// The files are byte-for-byte the originals, © 2017 Zalando SE, MIT (Expat) licence
// (https://github.com/zalandoresearch/fashion-mnist). Use data.EmbeddedFashionMNIST to read them.
// Importing this package adds about 4.4 MB to a binary.
package fmnist

import _ "embed"

// TestImagesGz is t10k-images-idx3-ubyte.gz: the gzipped IDX file of the 10,000 test images.
//
//go:embed t10k-images-idx3-ubyte.gz
var TestImagesGz []byte

// TestLabelsGz is t10k-labels-idx1-ubyte.gz: the gzipped IDX file of the 10,000 test labels.
//
//go:embed t10k-labels-idx1-ubyte.gz
var TestLabelsGz []byte
