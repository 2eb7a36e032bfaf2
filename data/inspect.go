package data

import (
	"fmt"
	"os"
	"sort"
)

// FolderSummary describes the images of a folder from their headers (no pixel is decoded).
type FolderSummary struct {
	Files       int  // image files found
	Probed      int  // headers read (an even sample of at most the limit given)
	Gray        bool // every probed image stores one gray channel
	Mixed       bool // the probed images are not all of one size
	MedianShort int  // the median of the probed images' shorter sides, in pixels
}

// InspectFolder summarises the image folder root (as OpenImageFolder lists it) from the headers
// of at most maxProbe of its files, evenly spread; unreadable files are left out of the summary.
// It tells a caller which model and image size fit the folder before opening it.
func InspectFolder(root string, maxProbe int) (FolderSummary, error) {
	f := &ImageFolder{root: root}
	files, _, err := f.list()
	if err != nil {
		return FolderSummary{}, err
	}
	s := FolderSummary{Files: len(files), Gray: true}
	if len(files) == 0 {
		return s, fmt.Errorf("image folder %s holds no image file", root)
	}
	step := max(1, len(files)/max(1, maxProbe))
	var shorts []int
	w0, h0 := -1, -1
	for i := 0; i < len(files) && len(shorts) < maxProbe; i += step {
		fh, err := os.Open(files[i])
		if err != nil {
			continue
		}
		info, err := ProbeImage(fh, DecodeOptions{})
		fh.Close()
		if err != nil {
			continue
		}
		if w0 < 0 {
			w0, h0 = info.Width, info.Height
		} else if info.Width != w0 || info.Height != h0 {
			s.Mixed = true
		}
		s.Gray = s.Gray && info.Gray
		shorts = append(shorts, min(info.Width, info.Height))
	}
	s.Probed = len(shorts)
	if s.Probed == 0 {
		return s, fmt.Errorf("image folder %s: no readable image among %d probed", root, min(len(files), maxProbe))
	}
	sort.Ints(shorts)
	s.MedianShort = shorts[len(shorts)/2]
	return s, nil
}
