package im2col

import "golang.org/x/sys/cpu"

// havePadAsm is whether padPlanesAsm can run (AVX-512F).
var havePadAsm = cpu.X86.HasAVX512F

// maxPadChunks is the most 16-lane chunks a padded row may take in padPlanesAsm (wp ≤ 128).
const maxPadChunks = 8

// padMasks is padPlanesAsm's lane masks: per chunk of a padded row, the lanes that read the
// source row and the lanes that are stored; then the number of chunks. Its layout is
// pad_amd64.s's.
type padMasks struct {
	load, store [16]uint16
	chunks      int64
}

//go:noescape
func padPlanesAsm(src, dst *float32, planes, h, w, pad, wp int, masks *padMasks)
