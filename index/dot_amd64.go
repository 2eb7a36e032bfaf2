package index

import "golang.org/x/sys/cpu"

var (
	useAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL
	useAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

// dotLen is how many leading elements of an n-element dot product the assembly handles: whole
// groups of 16 (AVX-512) or 8 (AVX2), or none.
func dotLen(n int) int {
	switch {
	case useAVX512:
		return n &^ 15
	case useAVX2:
		return n &^ 7
	}
	return 0
}

func dotAsm(a, b *float32, n int) float32 {
	if useAVX512 {
		return dot512(a, b, n)
	}
	return dot256(a, b, n)
}

func dotU8Asm(q *float32, c *uint8, n int) float32 {
	if useAVX512 {
		return dotU8512(q, c, n)
	}
	return dotU8256(q, c, n)
}

// dotKernel names the dot-product kernel in use.
func dotKernel() string {
	switch {
	case useAVX512:
		return "avx512"
	case useAVX2:
		return "avx2"
	}
	return "go"
}

// The kernels of dot_amd64.s; n is a positive multiple of 16 (512) or 8 (256).

//go:noescape
func dot512(a, b *float32, n int) float32

//go:noescape
func dot256(a, b *float32, n int) float32

//go:noescape
func dotU8512(q *float32, c *uint8, n int) float32

//go:noescape
func dotU8256(q *float32, c *uint8, n int) float32

// prefetch asks for the cache lines of the n bytes from p (a hint: no load, never a fault), so
// that the next vector of a search arrives while the current one is scored.
//
//go:noescape
func prefetch(p uintptr, n int)

// prefetchU16s asks for the cache lines of the uint16s at base (an address) indexed by
// idx[0..n-1], n > 0.
//
//go:noescape
func prefetchU16s(base uintptr, idx *uint32, n int)

// dotRowsAsm sets out[j] = q · (the d floats at base + ids[j]·stride bytes) for j < n; n > 0
// and dotLen(d) == d > 0.
func dotRowsAsm(q, base *float32, stride int, ids *uint32, n, d int, out *float32) {
	if useAVX512 {
		dotRows512(q, base, stride, ids, n, d, out)
		return
	}
	dotRows256(q, base, stride, ids, n, d, out)
}

// dotU8RowsAsm is dotRowsAsm over uint8 codes.
func dotU8RowsAsm(q *float32, base *uint8, stride int, ids *uint32, n, d int, out *float32) {
	if useAVX512 {
		dotU8Rows512(q, base, stride, ids, n, d, out)
		return
	}
	dotU8Rows256(q, base, stride, ids, n, d, out)
}

//go:noescape
func prefetchRows(base uintptr, stride int, ids *uint32, n, bytes int)

//go:noescape
func dotRows512(q, base *float32, stride int, ids *uint32, n, d int, out *float32)

//go:noescape
func dotRows256(q, base *float32, stride int, ids *uint32, n, d int, out *float32)

//go:noescape
func dotU8Rows512(q *float32, base *uint8, stride int, ids *uint32, n, d int, out *float32)

//go:noescape
func dotU8Rows256(q *float32, base *uint8, stride int, ids *uint32, n, d int, out *float32)
