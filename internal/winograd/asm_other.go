//go:build !amd64

package winograd

const haveAsm = false

func input16r(x *float32, grp *rowGroup, hw, w, nc int, v *float32, ldv, xis int) {
	panic("unreachable")
}

func inputBlk16(x *float32, off, hw, w, ng int, masks *uint16, v *float32, xis int) {
	panic("unreachable")
}

func output16r(m *float32, ldm, xis, nc int, y *float32, hw, w int, grp *rowGroup, bias *float32) {
	panic("unreachable")
}

func output16rAcc(m *float32, ldm, xis, nc int, y *float32, hw, w int, grp *rowGroup, bias *float32) {
	panic("unreachable")
}

func gradBlk16(dy *float32, off, hw, w, ng int, masks *uint16, z *float32, xis, ldz int) {
	panic("unreachable")
}

func transpose16(src *float32, ld int, dst *float32, n int) { panic("unreachable") }

func filters16(w *float32, idx *int32, n, step int, dst *float32, plane int) { panic("unreachable") }

func filters16Rot(w *float32, idx *int32, n, step int, dst *float32, plane int) { panic("unreachable") }

func filterGrad8(du *float32, plane, n int, out *float32) { panic("unreachable") }

func input16q(x *float32, grp *rowGroup, hw, w, nc int, v *float32, ldv, xis int) {
	panic("unreachable")
}

func output16q(m *float32, ldm, xis, nc int, y *float32, hw, w int, grp *rowGroup, bias *float32) {
	panic("unreachable")
}

func output16qAcc(m *float32, ldm, xis, nc int, y *float32, hw, w int, grp *rowGroup, bias *float32) {
	panic("unreachable")
}

func inputBlk16Lo(x *float32, off, hw, w, ng int, masks *uint16, v *uint32, xis int) {
	panic("unreachable")
}

func inputBlk16Hi(x *float32, off, hw, w, ng int, masks *uint16, v *uint32, xis int) {
	panic("unreachable")
}

func gradBlk16Lo(dy *float32, off, hw, w, ng int, masks *uint16, z *uint32, xis, ldz int) {
	panic("unreachable")
}

func gradBlk16Hi(dy *float32, off, hw, w, ng int, masks *uint16, z *uint32, xis, ldz int) {
	panic("unreachable")
}
