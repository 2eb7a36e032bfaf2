//go:build !amd64

package index

func dotLen(n int) int { return 0 }

func dotAsm(a, b *float32, n int) float32 { panic("unreachable") }

func dotU8Asm(q *float32, c *uint8, n int) float32 { panic("unreachable") }

// dotKernel names the dot-product kernel in use.
func dotKernel() string { return "go" }

func prefetch(p uintptr, n int) {}

func prefetchU16s(base uintptr, idx *uint32, n int) {}

func prefetchRows(base uintptr, stride int, ids *uint32, n, bytes int) {}

func dotRowsAsm(q, base *float32, stride int, ids *uint32, n, d int, out *float32) {
	panic("unreachable")
}

func dotU8RowsAsm(q *float32, base *uint8, stride int, ids *uint32, n, d int, out *float32) {
	panic("unreachable")
}
