package winograd

// AVX-512 transforms in transform_amd64.s (see fast.go for the layouts).

//go:noescape
func input16(x *float32, idx *int32, masks *uint16, hw, w, nc int, v *float32, ldv, xis int)

//go:noescape
func inputChan16(x *float32, off, hw, w, ng int, idx *int32, masks *uint16, v *float32, xis int)

//go:noescape
func output16(m *float32, ldm, xis, nc int, y *float32, hw, w int, idx *int32, masks *uint16, bias *float32)

//go:noescape
func output16Acc(m *float32, ldm, xis, nc int, y *float32, hw, w int, idx *int32, masks *uint16, bias *float32)

//go:noescape
func gradChan16(dy *float32, off, hw, w, ng int, idx *int32, masks *uint16, z *float32, xis, ldz int)

const haveAsm = true
