package data

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// writeFiles creates files under root; a name ending in "/" is an empty directory.
func writeFiles(t *testing.T, root string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestImageFolderLabelled(t *testing.T) {
	root := t.TempDir()
	img := testPattern(8, 6)
	webp, _ := os.ReadFile("testdata/gopher-doc.1bpp.lossless.webp")
	writeFiles(t, root, map[string][]byte{
		"dog/b.jpg":       encode(t, "jpeg", img),
		"dog/sub/a.BMP":   encode(t, "bmp", img),
		"cat/z.png":       encode(t, "png", img),
		"cat/y.gif":       encode(t, "gif", img),
		"cat/notes.txt":   []byte("not an image"),
		"cat/.hidden.png": nil,
		"bird/w.webp":     webp,
		"empty-dir/":      nil,
		"stray.png":       encode(t, "png", img),
		".git/x.png":      nil,
	})
	f, err := OpenImageFolder(root, FolderOptions{DecodeOptions: DecodeOptions{Width: 8, Height: 6}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Classes(), ","); got != "bird,cat,dog" {
		t.Fatalf("classes %s", got)
	}
	var names []string
	for _, p := range f.Paths() {
		r, _ := filepath.Rel(root, p)
		names = append(names, filepath.ToSlash(r))
	}
	if got := strings.Join(names, ","); got != "bird/w.webp,cat/y.gif,cat/z.png,dog/b.jpg,dog/sub/a.BMP" {
		t.Fatalf("files %s", got)
	}
	wantLabels := []int{0, 1, 1, 2, 2}
	for i, l := range wantLabels {
		s, err := f.Get(i)
		if err != nil {
			t.Fatal(err)
		}
		if s.Label != l || f.Label(i) != l || s.Image.C != 3 || s.Image.H != 6 || s.Image.W != 8 || s.ID != f.Paths()[i] {
			t.Fatalf("sample %d: label %d, %dx%dx%d, id %s", i, s.Label, s.Image.C, s.Image.H, s.Image.W, s.ID)
		}
	}
	if sk := f.Skipped(); len(sk) != 1 || !strings.HasSuffix(sk[0].Path, "stray.png") {
		t.Fatalf("skipped %v", sk)
	}
}

func TestImageFolderFlat(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string][]byte{
		"b.png": encode(t, "png", testPattern(4, 3)),
		"a.png": encode(t, "png", testPattern(4, 3)),
	})
	f, err := OpenImageFolder(root, FolderOptions{DecodeOptions: DecodeOptions{Gray: true}})
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 2 || f.Classes() != nil || !strings.HasSuffix(f.Paths()[0], "a.png") {
		t.Fatalf("len %d classes %v paths %v", f.Len(), f.Classes(), f.Paths())
	}
	s, err := f.Get(1)
	if err != nil || s.Label != -1 || s.Image.C != 1 || s.Image.W != 4 || s.Image.H != 3 {
		t.Fatalf("%+v %v", s, err)
	}
	if c, h, w := f.Size(); c != 1 || h != 3 || w != 4 {
		t.Fatalf("Size %d %d %d", c, h, w)
	}
}

func TestImageFolderBadInput(t *testing.T) {
	good := encode(t, "png", testPattern(4, 4))
	truncated := good[:len(good)-20]
	tests := []struct {
		name    string
		files   map[string][]byte
		opt     FolderOptions
		openErr []string // substrings of the OpenImageFolder error; nil = opens
		getErr  string   // substring of the first failing Get error
		skipped int      // with SkipBad
	}{
		{name: "empty folder", files: map[string][]byte{"x/": nil}, openErr: []string{"no images found"}},
		{name: "only non-images", files: map[string][]byte{"a.txt": []byte("x")}, openErr: []string{"no images found"}},
		{name: "zero-byte file", files: map[string][]byte{"a.png": good, "b.png": nil}, openErr: []string{"b.png", "empty file"}},
		{name: "unsupported format", files: map[string][]byte{"a.png": good, "b.jpg": []byte("II*\x00 tiff")}, openErr: []string{"b.jpg", "unsupported"}},
		{name: "corrupt header", files: map[string][]byte{"a.png": good, "c.png": good[:20]}, openErr: []string{"c.png", "png header"}},
		{name: "too many pixels", files: map[string][]byte{"a.png": good}, opt: FolderOptions{DecodeOptions: DecodeOptions{MaxPixels: 10}}, openErr: []string{"a.png", "too large"}},
		{name: "mixed sizes", files: map[string][]byte{"a.png": good, "b.png": encode(t, "png", testPattern(5, 4))},
			openErr: []string{"mixed image sizes", "b.png is 5x4", "a.png is 4x4"}},
		{name: "truncated pixels fail at open", files: map[string][]byte{"a.png": good, "b.png": truncated}, openErr: []string{"b.png", "pixel data does not decode"}},
		{name: "truncated pixels fail at open with Preload", files: map[string][]byte{"a.png": good, "b.png": truncated},
			opt: FolderOptions{Preload: true}, openErr: []string{"b.png", "pixel data does not decode"}},
		{name: "damaged pixels fail in Get", files: map[string][]byte{"a.png": damagedPNG(t, good)}, getErr: "a.png"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tc.files)
			f, err := OpenImageFolder(root, tc.opt)
			if tc.openErr != nil {
				if err == nil {
					t.Fatal("no error")
				}
				for _, s := range tc.openErr {
					if !strings.Contains(err.Error(), s) {
						t.Fatalf("err = %v, want it to contain %q", err, s)
					}
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.Get(0); err == nil || !strings.Contains(err.Error(), tc.getErr) {
					t.Fatalf("Get err = %v, want one containing %q", err, tc.getErr)
				}
			}
		})
	}
	t.Run("SkipBad skips and lists every bad file", func(t *testing.T) {
		root := t.TempDir()
		writeFiles(t, root, map[string][]byte{
			"a.png": good, "b.png": nil, "c.png": good[:20], "d.jpg": []byte("nope"),
			"e.png": encode(t, "png", testPattern(5, 4)), "f.png": truncated, "g.png": good,
		})
		f, err := OpenImageFolder(root, FolderOptions{SkipBad: true, Preload: true})
		if err != nil {
			t.Fatal(err)
		}
		if f.Len() != 2 || len(f.Skipped()) != 5 {
			t.Fatalf("len %d, skipped %v", f.Len(), f.Skipped())
		}
		var why []string
		for _, s := range f.Skipped() {
			why = append(why, filepath.Base(s.Path)+": "+s.Reason)
		}
		for i, w := range []string{"b.png: empty", "c.png: reading png header", "d.jpg: unsupported", "e.png: mixed", "f.png: the pixel data does not decode"} {
			if !strings.HasPrefix(why[i], w) {
				t.Fatalf("skipped[%d] = %q, want prefix %q", i, why[i], w)
			}
		}
	})
	t.Run("SkipBad decodes every file at open", func(t *testing.T) {
		root := t.TempDir()
		jp := encode(t, "jpeg", testPattern(4, 4))
		writeFiles(t, root, map[string][]byte{
			"a.png": good, "b.png": truncated, "c.png": damagedPNG(t, good), "d.jpg": jp[:len(jp)-30], "e.jpg": jp,
		})
		f, err := OpenImageFolder(root, FolderOptions{SkipBad: true})
		if err != nil {
			t.Fatal(err)
		}
		var why []string
		for _, s := range f.Skipped() {
			why = append(why, filepath.Base(s.Path)+": "+s.Reason)
		}
		if f.Len() != 2 || len(why) != 3 {
			t.Fatalf("kept %v, skipped %v; want a.png and e.jpg kept, b.png, c.png, d.jpg skipped", f.Paths(), why)
		}
		for i, w := range []string{"b.png: the pixel data does not decode", "c.png: the pixel data does not decode", "d.jpg: the pixel data does not decode"} {
			if !strings.HasPrefix(why[i], w) {
				t.Errorf("skipped[%d] = %q, want prefix %q", i, why[i], w)
			}
		}
		for i := 0; i < f.Len(); i++ {
			if _, err := f.Get(i); err != nil {
				t.Errorf("Get(%d) of a file the scan kept: %v", i, err)
			}
		}
	})
	t.Run("SkipBad with every file bad", func(t *testing.T) {
		root := t.TempDir()
		writeFiles(t, root, map[string][]byte{"a.png": nil})
		if _, err := OpenImageFolder(root, FolderOptions{SkipBad: true}); err == nil || !strings.Contains(err.Error(), "skipped") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("not a directory", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "f.png")
		os.WriteFile(p, good, 0o644)
		if _, err := OpenImageFolder(p, FolderOptions{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Fatalf("err = %v", err)
		}
		if _, err := OpenImageFolder(p+"x", FolderOptions{}); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestImageFolderResizeAndCache(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string][]byte{
		"a/1.png": encode(t, "png", testPattern(9, 7)),
		"b/2.jpg": encode(t, "jpeg", testPattern(20, 10)),
	})
	for _, opt := range []FolderOptions{
		{DecodeOptions: DecodeOptions{Width: 5, Height: 4, Interp: Area}, Cache: true},
		{DecodeOptions: DecodeOptions{Width: 5, Height: 4, Gray: true}, Preload: true},
	} {
		f, err := OpenImageFolder(root, opt)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < 8; k++ {
					s, err := f.Get(k % 2)
					if err != nil {
						errs <- err
						return
					}
					if s.Image.W != 5 || s.Image.H != 4 {
						errs <- errors.New("wrong size")
						return
					}
					s.Image.Pix[0] = -1 // must not alter the cache
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if s, _ := f.Get(0); s.Image.Pix[0] < 0 {
			t.Fatal("Get returned the cached image itself")
		}
	}
}

// damagedPNG flips bits inside the image data of a PNG: its end is intact (IEND), so only
// decoding the pixels finds the damage (the chunk's CRC no longer matches).
func damagedPNG(t *testing.T, good []byte) []byte {
	t.Helper()
	i := bytes.Index(good, []byte("IDAT"))
	if i < 0 {
		t.Fatal("no IDAT chunk")
	}
	b := bytes.Clone(good)
	b[i+6] ^= 0xff
	return b
}
