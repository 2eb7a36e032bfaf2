//go:build !amd64

package im2col

const haveCol2imAsm = false

func col2imS2PlaneAsm(d, s *float32, ld, h, w, wo, m int, zero *float32) {
	panic("im2col: no assembly")
}

func col2imS1PlaneAsm(d, s *float32, ld, h, w int) { panic("im2col: no assembly") }
