//go:build !amd64

package im2col

const haveExpand = false

type expandRuns struct {
	off  [4]int64
	mask [4]uint16
}

func expandRows16(dst *float32, ld int, src *float32, step, n int, runs *expandRuns) {
	panic("im2col: no assembly")
}
