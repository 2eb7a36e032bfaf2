#include "textflag.h"

// func padPlanesAsm(src, dst *float32, planes, h, w, pad, wp int, masks *padMasks)
//
// For each of planes planes of h rows of w floats at src (one after the other): hp = h + 2·pad
// rows of wp floats at dst, in chunks of 16 lanes. Row y of the plane (−pad ≤ y < h + pad) reads
// chunk c from src + y·w − pad + 16c under masks.load[c] (the lanes that fall on the row's w
// values; masked-off lanes neither read nor fault) and writes it, zeros in the other lanes,
// under masks.store[c] (the lanes before wp); rows outside the plane write zeros only.
TEXT ·padPlanesAsm(SB), NOSPLIT, $0-64
	MOVQ   src+0(FP), SI
	MOVQ   dst+8(FP), DI
	MOVQ   planes+16(FP), R8
	MOVQ   h+24(FP), R9
	MOVQ   w+32(FP), R10
	SHLQ   $2, R10
	MOVQ   pad+40(FP), R11
	MOVQ   wp+48(FP), R12
	SHLQ   $2, R12
	MOVQ   masks+56(FP), R14
	MOVQ   64(R14), R13 // chunks
	MOVQ   R11, R15
	SHLQ   $2, R15
	VPXORD Z0, Z0, Z0
	TESTQ  R8, R8
	JZ     done

plane:
	MOVQ R11, BX // top padding rows
top:
	TESTQ BX, BX
	JZ    rows
	XORQ  AX, AX
ztop:
	KMOVW  32(R14)(AX*2), K2
	MOVQ   AX, DX
	SHLQ   $6, DX
	VMOVUPS Z0, K2, (DI)(DX*1)
	INCQ   AX
	CMPQ   AX, R13
	JLT    ztop
	ADDQ   R12, DI
	DECQ   BX
	JMP    top

rows:
	MOVQ R9, BX
row:
	TESTQ BX, BX
	JZ    bottom
	MOVQ  SI, CX
	SUBQ  R15, CX // the row's first value less pad
	XORQ  AX, AX
chunk:
	KMOVW   (R14)(AX*2), K1
	KMOVW   32(R14)(AX*2), K2
	MOVQ    AX, DX
	SHLQ    $6, DX
	VMOVUPS.Z (CX)(DX*1), K1, Z1
	VMOVUPS Z1, K2, (DI)(DX*1)
	INCQ    AX
	CMPQ    AX, R13
	JLT     chunk
	ADDQ    R10, SI
	ADDQ    R12, DI
	DECQ    BX
	JMP     row

bottom:
	MOVQ R11, BX
bot:
	TESTQ BX, BX
	JZ    next
	XORQ  AX, AX
zbot:
	KMOVW  32(R14)(AX*2), K2
	MOVQ   AX, DX
	SHLQ   $6, DX
	VMOVUPS Z0, K2, (DI)(DX*1)
	INCQ   AX
	CMPQ   AX, R13
	JLT    zbot
	ADDQ   R12, DI
	DECQ   BX
	JMP    bot

next:
	DECQ R8
	JNZ  plane

done:
	VZEROUPPER
	RET
