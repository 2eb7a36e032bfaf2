//go:build !linux

package index

import (
	"errors"
	"os"
)

func mapFile(f *os.File, size int64) ([]byte, error) { return nil, errors.New("not supported") }

func unmapFile(b []byte) {}
