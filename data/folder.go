package data

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// ImageExtensions are the file extensions (lower case) an image folder scan picks up; other
// files and names starting with "." are ignored.
var ImageExtensions = []string{".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp"}

// FolderOptions configures OpenImageFolder. The zero value loads RGB images of one common size,
// lazily, failing on the first bad file.
type FolderOptions struct {
	DecodeOptions
	// SkipBad skips files that cannot be read (empty, corrupt header, unsupported format,
	// too large, of another size than the first when no resize is set, or whose pixels do not
	// decode) instead of failing; each is listed by Skipped. To find the last kind before any
	// use, the scan then decodes every file once (in parallel; Preload does so anyway).
	SkipBad bool
	// Preload decodes every image at open time (in parallel) and keeps them in memory.
	Preload bool
	// Cache keeps each image in memory after its first Get.
	Cache bool
}

// SkippedFile is a file that OpenImageFolder left out, and why.
type SkippedFile struct {
	Path   string
	Reason string
}

// ImageFolder is a dataset of image files: one subfolder per class (labels follow the sorted
// subfolder names; files at the top level are then skipped) or a flat folder of unlabelled
// images (Label -1). Files are listed at open time, in sorted order, and each header is checked
// (format, size); pixels are decoded lazily by Get, which is safe for concurrent use.
type ImageFolder struct {
	root    string
	opt     FolderOptions
	c, h, w int
	files   []string
	labels  []int // nil when unlabelled
	classes []string
	skipped []SkippedFile
	cache   []atomic.Pointer[Image] // nil unless Preload or Cache
}

// OpenImageFolder scans root (see ImageFolder). Subfolders that hold no image file are not
// classes, so keep the same class folders in every split. It fails, naming the file, on an
// empty folder, an unreadable or unsupported file, a truncated file (one that does not end as
// its format requires and whose pixels then fail to decode), or mixed image sizes without a
// resize, unless SkipBad is set.
func OpenImageFolder(root string, opt FolderOptions) (*ImageFolder, error) {
	if err := opt.check(); err != nil {
		return nil, fmt.Errorf("image folder %s: %w", root, err)
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("image folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("image folder %s: not a directory", root)
	}
	f := &ImageFolder{root: root, opt: opt, c: 3, h: opt.Height, w: opt.Width}
	if opt.Gray {
		f.c = 1
	}
	files, labels, err := f.list()
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("image folder %s: no images found (looked for %s files)", root, strings.Join(ImageExtensions, ", "))
	}
	if err := f.probe(files, labels); err != nil {
		return nil, err
	}
	if len(f.files) == 0 {
		return nil, fmt.Errorf("image folder %s: all %d images were skipped as bad (first: %s: %s)", root, len(f.skipped), f.skipped[0].Path, f.skipped[0].Reason)
	}
	if opt.Preload || opt.Cache {
		f.cache = make([]atomic.Pointer[Image], len(f.files))
	}
	if opt.Preload {
		if err := f.preload(); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func isImageName(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range ImageExtensions {
		if ext == e {
			return true
		}
	}
	return false
}

// list finds the image files and their labels (labels nil for a flat folder).
func (f *ImageFolder) list() (files []string, labels []int, err error) {
	entries, err := os.ReadDir(f.root)
	if err != nil {
		return nil, nil, fmt.Errorf("image folder %s: %w", f.root, err)
	}
	var top []string
	for _, e := range entries { // ReadDir sorts by name
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(f.root, name)
		if e.IsDir() {
			var in []string
			err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() && path != p && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				if !d.IsDir() && isImageName(d.Name()) {
					in = append(in, path)
				}
				return nil
			})
			if err != nil {
				return nil, nil, fmt.Errorf("image folder %s: %w", f.root, err)
			}
			if len(in) > 0 {
				for _, q := range in {
					files = append(files, q)
					labels = append(labels, len(f.classes))
				}
				f.classes = append(f.classes, name)
			}
			continue
		}
		if isImageName(name) {
			top = append(top, p)
		}
	}
	if f.classes == nil {
		return top, nil, nil
	}
	for _, p := range top {
		f.skipped = append(f.skipped, SkippedFile{p, "image at the top level of a class-per-subfolder dataset"})
	}
	return files, labels, nil
}

type probeResult struct {
	info ImageInfo
	err  error
}

// probe checks every file's header in parallel and keeps the good ones in order.
func (f *ImageFolder) probe(files []string, labels []int) error {
	res := make([]probeResult, len(files))
	parallelFor(len(files), func(i int) { res[i].info, res[i].err = f.check(files[i]) })
	refPath, refW, refH := "", 0, 0
	for i, r := range res {
		err, mixed := r.err, false
		if err == nil && f.w == 0 && refPath != "" && (r.info.Width != refW || r.info.Height != refH) {
			err = fmt.Errorf("%w: %s is %dx%d but %s is %dx%d",
				ErrMixedSizes, files[i], r.info.Width, r.info.Height, refPath, refW, refH)
			mixed = true
		}
		if err != nil {
			if !f.opt.SkipBad {
				if mixed {
					return fmt.Errorf("image folder %s: %w", f.root, err)
				}
				return fmt.Errorf("image folder %s: %s: %w", f.root, files[i], err)
			}
			f.skipped = append(f.skipped, SkippedFile{files[i], err.Error()})
			continue
		}
		if refPath == "" {
			refPath, refW, refH = files[i], r.info.Width, r.info.Height
		}
		f.files = append(f.files, files[i])
		if labels != nil {
			f.labels = append(f.labels, labels[i])
		}
	}
	if f.w == 0 {
		f.w, f.h = refW, refH
	}
	return nil
}

// check reads a file's header and decodes its pixels when its end does not look like a whole
// file's (a truncated copy), or always with SkipBad (unless Preload will decode them).
func (f *ImageFolder) check(path string) (ImageInfo, error) {
	fh, err := os.Open(path)
	if err != nil {
		return ImageInfo{}, err
	}
	defer fh.Close()
	info, err := ProbeImage(fh, f.opt.DecodeOptions)
	if err != nil {
		return info, err
	}
	if !f.opt.SkipBad || f.opt.Preload {
		st, err := fh.Stat()
		if err != nil {
			return info, err
		}
		if endsComplete(fh, st.Size(), info.Format) {
			return info, nil
		}
	}
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		return info, err
	}
	return info, CheckPixels(fh)
}

func (f *ImageFolder) preload() error {
	errs := make([]error, len(f.files))
	parallelFor(len(f.files), func(i int) { _, errs[i] = f.Get(i) })
	var files []string
	var labels []int
	var cache []atomic.Pointer[Image]
	for i, err := range errs {
		if err != nil {
			if !f.opt.SkipBad {
				return err
			}
			f.skipped = append(f.skipped, SkippedFile{f.files[i], strings.TrimPrefix(err.Error(), f.files[i]+": ")})
			continue
		}
		files = append(files, f.files[i])
		if f.labels != nil {
			labels = append(labels, f.labels[i])
		}
		cache = append(cache, atomic.Pointer[Image]{})
		cache[len(cache)-1].Store(f.cache[i].Load())
	}
	if len(files) == 0 {
		return fmt.Errorf("image folder %s: no image could be decoded (first: %s: %s)", f.root, f.skipped[0].Path, f.skipped[0].Reason)
	}
	f.files, f.labels, f.cache = files, labels, cache
	return nil
}

// parallelFor runs fn(0..n-1) on up to GOMAXPROCS goroutines.
func parallelFor(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// Len returns the number of images.
func (f *ImageFolder) Len() int { return len(f.files) }

// Classes returns the class folder names (index = label), nil for a flat folder.
func (f *ImageFolder) Classes() []string { return f.classes }

// Label returns the label of image i without decoding it (-1 for a flat folder).
func (f *ImageFolder) Label(i int) int {
	if f.labels == nil {
		return -1
	}
	return f.labels[i]
}

// Paths returns the image files in dataset order.
func (f *ImageFolder) Paths() []string { return append([]string(nil), f.files...) }

// Size returns the channels, height and width of every image.
func (f *ImageFolder) Size() (c, h, w int) { return f.c, f.h, f.w }

// Skipped lists the files left out at open time, with the reason: those whose header failed,
// in scan order, then (with Preload) those whose pixels failed to decode.
func (f *ImageFolder) Skipped() []SkippedFile { return append([]SkippedFile(nil), f.skipped...) }

// Get decodes image i (or copies it from the cache). Errors name the file.
func (f *ImageFolder) Get(i int) (Sample, error) {
	if i < 0 || i >= len(f.files) {
		return Sample{}, fmt.Errorf("image folder %s: index %d out of range [0, %d)", f.root, i, len(f.files))
	}
	path := f.files[i]
	s := Sample{Label: f.Label(i), ID: path}
	if f.cache != nil {
		if m := f.cache[i].Load(); m != nil {
			s.Image = m.Clone()
			return s, nil
		}
	}
	fh, err := os.Open(path)
	if err != nil {
		return Sample{}, err
	}
	defer fh.Close()
	opt := f.opt.DecodeOptions
	opt.Width, opt.Height = f.w, f.h
	m, err := DecodeImage(fh, opt)
	if err != nil {
		return Sample{}, fmt.Errorf("%s: %w", path, err)
	}
	if f.cache != nil {
		c := m.Clone()
		f.cache[i].Store(&c)
	}
	s.Image = m
	return s, nil
}
