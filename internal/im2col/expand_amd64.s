#include "textflag.h"

// func expandRows16(dst *float32, ld int, src *float32, step, n int, runs *expandRuns)
//
// For each of n window origins src, src+step, ... (floats): one 16-lane chunk of a transposed
// panel row, each of the four runs' values (off[r] floats past the origin, contiguous) expanded
// into the lanes of mask[r] in order (VEXPANDPS reads exactly popcount(mask) values, nothing for
// an empty mask), the other lanes zero; stored at dst, dst+ld, ... (floats).
TEXT ·expandRows16(SB), NOSPLIT, $0-48
	MOVQ  dst+0(FP), DI
	MOVQ  ld+8(FP), R8
	SHLQ  $2, R8
	MOVQ  src+16(FP), SI
	MOVQ  step+24(FP), R9
	SHLQ  $2, R9
	MOVQ  n+32(FP), CX
	MOVQ  runs+40(FP), R10
	MOVQ  0(R10), R11
	SHLQ  $2, R11
	MOVQ  8(R10), R12
	SHLQ  $2, R12
	MOVQ  16(R10), R13
	SHLQ  $2, R13
	MOVQ  24(R10), R14
	SHLQ  $2, R14
	KMOVW 32(R10), K1
	KMOVW 34(R10), K2
	KMOVW 36(R10), K3
	KMOVW 38(R10), K4
	TESTQ CX, CX
	JZ    expdone

exploop:
	VPXORD    Z0, Z0, Z0
	VEXPANDPS (SI)(R11*1), K1, Z0
	VEXPANDPS (SI)(R12*1), K2, Z0
	VEXPANDPS (SI)(R13*1), K3, Z0
	VEXPANDPS (SI)(R14*1), K4, Z0
	VMOVUPS   Z0, (DI)
	ADDQ      R9, SI
	ADDQ      R8, DI
	DECQ      CX
	JNZ       exploop

expdone:
	VZEROUPPER
	RET
