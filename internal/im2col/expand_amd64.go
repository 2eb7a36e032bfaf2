package im2col

import "golang.org/x/sys/cpu"

// haveExpand is whether expandRows16 can run (AVX-512F).
var haveExpand = cpu.X86.HasAVX512F

// expandRuns is one 16-lane chunk of a transposed panel row as up to four runs of contiguous
// source values: run r reads off[r] floats past the window origin into the lanes of mask[r]
// (empty masks read nothing). Its layout is expand_amd64.s's.
type expandRuns struct {
	off  [4]int64
	mask [4]uint16
}

//go:noescape
func expandRows16(dst *float32, ld int, src *float32, step, n int, runs *expandRuns)
