//go:build !amd64

package winograd

const haveAsm = false

func input16(x *float32, idx *int32, masks *uint16, hw, w, nc int, v *float32, ldv, xis int) {
	panic("unreachable")
}

func inputChan16(x *float32, off, hw, w, ng int, idx *int32, masks *uint16, v *float32, xis int) {
	panic("unreachable")
}

func output16(m *float32, ldm, xis, nc int, y *float32, hw, w int, idx *int32, masks *uint16, bias *float32) {
	panic("unreachable")
}

func output16Acc(m *float32, ldm, xis, nc int, y *float32, hw, w int, idx *int32, masks *uint16, bias *float32) {
	panic("unreachable")
}

func gradChan16(dy *float32, off, hw, w, ng int, idx *int32, masks *uint16, z *float32, xis, ldz int) {
	panic("unreachable")
}
