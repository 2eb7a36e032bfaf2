package data

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// CIFARFormat selects the record layout and label of a CIFAR binary batch.
type CIFARFormat int

const (
	// CIFAR10 records are 1 label byte (0–9) + 3072 pixel bytes (1024 R, 1024 G, 1024 B, 32×32 each).
	CIFAR10 CIFARFormat = iota
	// CIFAR100Fine records are a coarse label byte (0–19), a fine label byte (0–99) and 3072
	// pixel bytes; the fine label is used.
	CIFAR100Fine
	// CIFAR100Coarse is the CIFAR-100 layout with the coarse (superclass) label used.
	CIFAR100Coarse
)

// CIFAR10Classes names the CIFAR-10 labels (index = label).
var CIFAR10Classes = []string{
	"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
}

const cifarPixels = 3 * 32 * 32

func (f CIFARFormat) String() string {
	switch f {
	case CIFAR10:
		return "CIFAR-10"
	case CIFAR100Fine:
		return "CIFAR-100 (fine labels)"
	case CIFAR100Coarse:
		return "CIFAR-100 (coarse labels)"
	}
	return fmt.Sprintf("CIFARFormat(%d)", int(f))
}

// recordSize returns the bytes per record, the offset of the used label and the number of classes.
func (f CIFARFormat) layout() (rec, labelAt, classes int, err error) {
	switch f {
	case CIFAR10:
		return 1 + cifarPixels, 0, 10, nil
	case CIFAR100Fine:
		return 2 + cifarPixels, 1, 100, nil
	case CIFAR100Coarse:
		return 2 + cifarPixels, 0, 20, nil
	}
	return 0, 0, 0, fmt.Errorf("unknown CIFAR format %d", int(f))
}

// ReadCIFAR reads one CIFAR binary batch (see CIFARFormat) into a 3×32×32 U8Dataset. The data must
// be a whole number of records and every label in range; name is used in IDs and errors.
// Class names are CIFAR10Classes for CIFAR-10 and "0".."k-1" for CIFAR-100 (OpenCIFAR reads
// the names shipped beside the batches).
func ReadCIFAR(r io.Reader, name string, format CIFARFormat) (*U8Dataset, error) {
	ds := &U8Dataset{Name: name, C: 3, H: 32, W: 32}
	if err := appendCIFAR(ds, r, name, format); err != nil {
		return nil, err
	}
	ds.ClassNames = cifarNames(format, "")
	return ds, nil
}

func appendCIFAR(ds *U8Dataset, r io.Reader, name string, format CIFARFormat) error {
	rec, labelAt, classes, err := format.layout()
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	br := bufio.NewReaderSize(r, 1<<16)
	buf := make([]byte, rec)
	n := 0
	for {
		k, err := io.ReadFull(br, buf)
		if err == io.EOF {
			break
		}
		if err == io.ErrUnexpectedEOF {
			return fmt.Errorf("reading %s batch %s: truncated: %d whole %d-byte records, then %d bytes", format, name, n, rec, k)
		}
		if err != nil {
			return fmt.Errorf("reading %s batch %s: %w", format, name, err)
		}
		if int64(len(ds.Pix))+cifarPixels > MaxArrayBytes {
			return fmt.Errorf("reading %s batch %s: over the %d-byte limit", format, name, int64(MaxArrayBytes))
		}
		l := int(buf[labelAt])
		if l >= classes {
			return fmt.Errorf("reading %s batch %s: record %d has label %d, want 0..%d", format, name, n, l, classes-1)
		}
		if format != CIFAR10 && buf[0] >= 20 {
			return fmt.Errorf("reading %s batch %s: record %d has coarse label %d, want 0..19", format, name, n, buf[0])
		}
		ds.Labels = append(ds.Labels, l)
		ds.Pix = append(ds.Pix, buf[rec-cifarPixels:]...)
		n++
	}
	if n == 0 {
		return fmt.Errorf("reading %s batch %s: empty file", format, name)
	}
	ds.N += n
	return nil
}

// OpenCIFAR reads and concatenates CIFAR binary batches (e.g. data_batch_1.bin …
// data_batch_5.bin, or CIFAR-100's train.bin). For CIFAR-100 the class names come from
// fine_label_names.txt or coarse_label_names.txt beside the first batch when present.
func OpenCIFAR(format CIFARFormat, paths ...string) (*U8Dataset, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("OpenCIFAR: no files given")
	}
	ds := &U8Dataset{Name: filepath.Base(paths[0]), C: 3, H: 32, W: 32}
	if len(paths) > 1 {
		ds.Name = filepath.Base(filepath.Dir(paths[0]))
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		err = appendCIFAR(ds, f, p, format)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	ds.ClassNames = cifarNames(format, filepath.Dir(paths[0]))
	return ds, nil
}

func cifarNames(format CIFARFormat, dir string) []string {
	_, _, classes, _ := format.layout()
	file := ""
	switch format {
	case CIFAR10:
		return CIFAR10Classes
	case CIFAR100Fine:
		file = "fine_label_names.txt"
	case CIFAR100Coarse:
		file = "coarse_label_names.txt"
	}
	if dir != "" {
		if b, err := os.ReadFile(filepath.Join(dir, file)); err == nil {
			names := strings.Fields(string(b))
			if len(names) == classes {
				return names
			}
		}
	}
	return numberNames(classes)
}
