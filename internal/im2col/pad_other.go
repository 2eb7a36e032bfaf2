//go:build !amd64

package im2col

const havePadAsm = false

const maxPadChunks = 8

type padMasks struct {
	load, store [16]uint16
	chunks      int64
}

func padPlanesAsm(src, dst *float32, planes, h, w, pad, wp int, masks *padMasks) {
	panic("im2col: no assembly")
}
