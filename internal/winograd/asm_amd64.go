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
