package data

import (
	"fmt"
	"io"
)

// ModelOptions say how to open a dataset for a model: the decoded channels and size its encoder
// takes, the split, and what to do with unreadable files.
type ModelOptions struct {
	Split    string // "train" (default) or "test" where the data has splits
	Channels int    // 1 decodes image files to grayscale, 3 to RGB
	Size     int    // resize image files to Size×Size when > 0
	SkipBad  bool   // skip unreadable images instead of failing (listed on the log)
	Preload  bool   // decode every image once up front
}

// OpenForModel opens a dataset spec (fashion-mnist[:split], a folder, a file; see Open) the way a
// model with the given input channels and size needs it. An empty dataset is an error; skipped
// bad files are summarised on log (nil: not listed).
func OpenForModel(spec string, o ModelOptions, log io.Writer) (Dataset, error) {
	opt := OpenOptions{Split: o.Split}
	opt.Gray = o.Channels == 1
	if o.Size > 0 {
		opt.Width, opt.Height = o.Size, o.Size
	}
	opt.SkipBad = o.SkipBad
	opt.Preload = o.Preload
	ds, err := Open(spec, opt)
	if err != nil {
		return nil, err
	}
	if ds.Len() == 0 {
		return nil, fmt.Errorf("dataset %s is empty", spec)
	}
	if f, ok := ds.(interface{ Skipped() []SkippedFile }); ok && log != nil {
		if sk := f.Skipped(); len(sk) > 0 {
			fmt.Fprintf(log, "skipped %d bad file(s) in %s:\n", len(sk), spec)
			for i, s := range sk {
				if i == 10 {
					fmt.Fprintf(log, "  ... and %d more\n", len(sk)-10)
					break
				}
				fmt.Fprintf(log, "  %s: %s\n", s.Path, s.Reason)
			}
		}
	}
	return ds, nil
}
