#include "textflag.h"

// maxPool3s2AVX512 computes 16 outputs per group of a 3×3 stride-2 max pool whose windows lie
// inside the plane, with their argmax: the comparisons of MaxPool2dPadded's scalar loop in the
// same row-major order, lane by lane, so the results are the same bit for bit. A value v replaces
// the running maximum when v > max (ordered) or v is NaN, so the first maximum wins a tie and the
// last NaN wins. Operands are in Go assembler order (sources first, destination last): VCMPPS
// $0x1e, Z1, Z3, K1 is K1 = Z3 > Z1.
//
// Each row of a group reads the 33 floats its windows span: columns 0 and 1 of the windows are
// the even and odd elements of the first 32, column 2 the odd elements of the 32 from the
// second.

DATA maxpoolEven<>+0(SB)/4, $0
DATA maxpoolEven<>+4(SB)/4, $2
DATA maxpoolEven<>+8(SB)/4, $4
DATA maxpoolEven<>+12(SB)/4, $6
DATA maxpoolEven<>+16(SB)/4, $8
DATA maxpoolEven<>+20(SB)/4, $10
DATA maxpoolEven<>+24(SB)/4, $12
DATA maxpoolEven<>+28(SB)/4, $14
DATA maxpoolEven<>+32(SB)/4, $16
DATA maxpoolEven<>+36(SB)/4, $18
DATA maxpoolEven<>+40(SB)/4, $20
DATA maxpoolEven<>+44(SB)/4, $22
DATA maxpoolEven<>+48(SB)/4, $24
DATA maxpoolEven<>+52(SB)/4, $26
DATA maxpoolEven<>+56(SB)/4, $28
DATA maxpoolEven<>+60(SB)/4, $30
GLOBL maxpoolEven<>(SB), RODATA|NOPTR, $64

// ROW deinterleaves the row at R into its windows' columns c0, c1, c2 (clobbers Z0).
#define ROW(R, c0, c1, c2) \
	VMOVUPS   (R), Z0; \
	VMOVAPS   Z30, c0; \
	VPERMI2PS 64(R), Z0, c0; \
	VMOVAPS   Z31, c1; \
	VPERMI2PS 64(R), Z0, c1; \
	VMOVUPS   4(R), Z0; \
	VMOVAPS   Z31, c2; \
	VPERMI2PS 68(R), Z0, c2

// STEP takes v into the maximum Z1 and its index Z2 = Z28 + off where v > Z1 or v is NaN.
#define STEP(v, off) \
	VCMPPS  $0x1e, Z1, v, K1; \
	VCMPPS  $3, v, v, K2; \
	KORW    K2, K1, K1; \
	VMOVAPS v, K1, Z1; \
	VPADDD  off, Z28, K1, Z2

// func maxPool3s2AVX512(y *float32, arg *int32, src *float32, b, w, groups int)
// For g < groups and lane j < 16, output 16g+j is the window whose top left is src[b+32g+2j]
// (rows w apart); its argmax, an index into src, goes to arg[16g+j] unless arg is nil.
TEXT ·maxPool3s2AVX512(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ arg+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ b+24(FP), AX
	MOVQ w+32(FP), BX
	MOVQ groups+40(FP), CX
	LEAQ (SI)(AX*4), SI
	MOVQ BX, R8
	SHLQ $2, R8

	VMOVDQU32    maxpoolEven<>(SB), Z30 // even lanes 0, 2, …, 30
	MOVL         $1, R9
	VPBROADCASTD R9, Z0
	VPADDD       Z0, Z30, Z31           // odd lanes 1, 3, …, 31
	VPBROADCASTD AX, Z28
	VPADDD       Z30, Z28, Z28          // the windows' top left indices
	MOVL         $32, R9
	VPBROADCASTD R9, Z19                // a group's step
	MOVL         $1, R9
	VPBROADCASTD R9, Z20                // the offsets of the other eight window positions
	MOVL         $2, R9
	VPBROADCASTD R9, Z21
	MOVL         BX, R9
	VPBROADCASTD R9, Z22
	INCL         R9
	VPBROADCASTD R9, Z23
	INCL         R9
	VPBROADCASTD R9, Z24
	LEAL         (BX)(BX*1), R9
	VPBROADCASTD R9, Z25
	INCL         R9
	VPBROADCASTD R9, Z26
	INCL         R9
	VPBROADCASTD R9, Z27

loop:
	LEAQ (SI)(R8*1), R10
	LEAQ (SI)(R8*2), R11
	ROW(SI, Z1, Z3, Z4)
	ROW(R10, Z5, Z6, Z7)
	ROW(R11, Z8, Z9, Z10)
	VMOVDQA32 Z28, Z2
	STEP(Z3, Z20)
	STEP(Z4, Z21)
	STEP(Z5, Z22)
	STEP(Z6, Z23)
	STEP(Z7, Z24)
	STEP(Z8, Z25)
	STEP(Z9, Z26)
	STEP(Z10, Z27)
	VMOVUPS Z1, (DI)
	ADDQ    $64, DI
	TESTQ   DX, DX
	JZ      next
	VMOVDQU32 Z2, (DX)
	ADDQ    $64, DX

next:
	ADDQ   $128, SI
	VPADDD Z19, Z28, Z28
	DECQ   CX
	JNZ    loop
	VZEROUPPER
	RET
