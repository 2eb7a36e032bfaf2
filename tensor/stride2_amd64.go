package tensor

import "golang.org/x/sys/cpu"

// haveStride2Asm is whether stride2RowAsm can run (AVX2).
var haveStride2Asm = cpu.X86.HasAVX2

// stride2RowAsm writes, for each of the nruns runs at runs, dst[jj+i] = src[base+off+2i] for
// i < n (see run), eight values at a time with two loads, a shuffle and a store. A run shorter
// than 8 is written as eight values too when jj+8 ≤ limit (the values past it are overwritten or
// cleared afterwards: later runs, the row's padding, the next row), else value by value. It
// reads up to src[base+off+max(2n, 16)−1], which the caller must have checked lies inside src.
//
//go:noescape
func stride2RowAsm(dst, src *float32, runs *run, nruns, off, limit int)
