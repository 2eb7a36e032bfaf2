package train

import (
	"io"

	"github.com/contrastive-go/contrastive/internal/atomicfile"
)

// WriteFileAtomic writes data to path so that a crash at any moment leaves either the old file or
// the new one, never a torn mixture: it writes a temporary file in the same directory, fsyncs it,
// renames it over path and fsyncs the directory (internal/atomicfile).
func WriteFileAtomic(path string, data []byte) error {
	return atomicfile.Write(path, "", func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
