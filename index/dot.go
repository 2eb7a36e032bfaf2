package index

// Dot products, the inner loop of the approximate search. On amd64 they run in dot_amd64.s
// (AVX-512 when the CPU has it, else AVX2 with FMA), elsewhere and for the last few elements in
// the Go loops below. The assembly sums in several lanes with fused multiply-adds, so results
// differ from the Go loops in the last bits, as any change of summation order would.

// dot returns Σ a[i]·b[i] over len(a) elements; b must be at least as long as a.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	n := dotLen(len(a))
	var s float32
	if n > 0 {
		s = dotAsm(&a[0], &b[0], n)
	}
	return s + dotGo(a[n:], b[n:])
}

// dotU8 returns Σ q[i]·float32(c[i]) over len(q) elements: a query against an sq8 code. c must
// be at least as long as q.
func dotU8(q []float32, c []uint8) float32 {
	c = c[:len(q)]
	n := dotLen(len(q))
	var s float32
	if n > 0 {
		s = dotU8Asm(&q[0], &c[0], n)
	}
	return s + dotU8Go(q[n:], c[n:])
}

func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func dotU8Go(q []float32, c []uint8) float32 {
	c = c[:len(q)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(q); i += 2 {
		s0 += q[i] * float32(c[i])
		s1 += q[i+1] * float32(c[i+1])
	}
	for ; i < len(q); i++ {
		s0 += q[i] * float32(c[i])
	}
	return s0 + s1
}

// dotRows sets out[j] = q · row ids[j] of base (rows of len(q) floats) for every j < len(ids),
// in one assembly call when the kernel covers len(q). Every id must be below len(base)/len(q):
// the assembly does not check.
func dotRows(q, base []float32, ids []uint32, out []float32) {
	d := len(q)
	out = out[:len(ids)]
	if len(ids) == 0 {
		return
	}
	if dotLen(d) == d && d > 0 {
		dotRowsAsm(&q[0], &base[0], 4*d, &ids[0], len(ids), d, &out[0])
		return
	}
	for j, id := range ids {
		out[j] = dot(q, base[int(id)*d:])
	}
}

// dotU8Rows is dotRows over rows of uint8 codes: out[j] = Σ q[i]·float32(code[i]).
func dotU8Rows(q []float32, base []uint8, ids []uint32, out []float32) {
	d := len(q)
	out = out[:len(ids)]
	if len(ids) == 0 {
		return
	}
	if dotLen(d) == d && d > 0 {
		dotU8RowsAsm(&q[0], &base[0], d, &ids[0], len(ids), d, &out[0])
		return
	}
	for j, id := range ids {
		out[j] = dotU8(q, base[int(id)*d:])
	}
}
