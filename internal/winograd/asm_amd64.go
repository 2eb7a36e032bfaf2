package winograd

// AVX-512 transforms in transform_amd64.s and rows_amd64.s (see fast.go and rows.go for the
// layouts).

//go:noescape
func input16r(x *float32, grp *rowGroup, hw, w, nc int, v *float32, ldv, xis int)

//go:noescape
func inputBlk16(x *float32, off, hw, w, ng int, masks *uint16, v *float32, xis int)

//go:noescape
func output16r(m *float32, ldm, xis, nc int, y *float32, hw, w int, grp *rowGroup, bias *float32)

//go:noescape
func output16rAcc(m *float32, ldm, xis, nc int, y *float32, hw, w int, grp *rowGroup, bias *float32)

//go:noescape
func gradBlk16(dy *float32, off, hw, w, ng int, masks *uint16, z *float32, xis, ldz int)

const haveAsm = true

//go:noescape
func transpose16(src *float32, ld int, dst *float32, n int)

//go:noescape
func filters16(w *float32, idx *int32, n, step int, dst *float32, plane int)

//go:noescape
func filters16Rot(w *float32, idx *int32, n, step int, dst *float32, plane int)

//go:noescape
func filterGrad8(du *float32, plane, n int, out *float32)

//go:noescape
func input16q(x *float32, grp *rowGroup, hw, w, nc int, v *float32, ldv, xis int)

//go:noescape
func output16q(m *float32, ldm, xis, nc int, y *float32, hw, w int, grp *rowGroup, bias *float32)

//go:noescape
func output16qAcc(m *float32, ldm, xis, nc int, y *float32, hw, w int, grp *rowGroup, bias *float32)

// The weight gradient's transforms writing gemm's bfloat16 pair layout (bf16_amd64.s): Lo the
// low half of each word (the whole word, high half zero), Hi the high half only.

//go:noescape
func inputBlk16Lo(x *float32, off, hw, w, ng int, masks *uint16, v *uint32, xis int)

//go:noescape
func inputBlk16Hi(x *float32, off, hw, w, ng int, masks *uint16, v *uint32, xis int)

//go:noescape
func gradBlk16Lo(dy *float32, off, hw, w, ng int, masks *uint16, z *uint32, xis, ldz int)

//go:noescape
func gradBlk16Hi(dy *float32, off, hw, w, ng int, masks *uint16, z *uint32, xis, ldz int)
