package im2col

import "golang.org/x/sys/cpu"

// haveRowAsm is whether copyRowAsm and stride2RowAsm can run (AVX2).
var haveRowAsm = cpu.X86.HasAVX2

// copyRowAsm writes, for each of the nruns runs at runs, dst[jj+i] = src[base+off+i] for i < n
// (see run): Im2colPanel's stride-1 row, eight values at a time with one unaligned load and
// store, the last group of a run longer than 8 ending at its last value (overlapping the one
// before when n is not a multiple of 8). A run shorter than 8 is written as eight values too when
// jj+8 ≤ limit (the values past it are overwritten or cleared afterwards: later runs, the row's
// padding, the next row), else value by value. It reads up to src[base+off+max(n, 8)−1], which
// the caller must have checked lies inside src.
//
//go:noescape
func copyRowAsm(dst, src *float32, runs *run, nruns, off, limit int)

// stride2RowAsm writes, for each of the nruns runs at runs, dst[jj+i] = src[base+off+2i] for
// i < n (see run), eight values at a time with two loads, a shuffle and a store. A run shorter
// than 8 is written as eight values too when jj+8 ≤ limit (the values past it are overwritten or
// cleared afterwards: later runs, the row's padding, the next row), else value by value. It
// reads up to src[base+off+max(2n, 16)−1], which the caller must have checked lies inside src.
//
//go:noescape
func stride2RowAsm(dst, src *float32, runs *run, nruns, off, limit int)
