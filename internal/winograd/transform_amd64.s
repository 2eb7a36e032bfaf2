#include "textflag.h"

// AVX-512 transforms of fast.go. Tap (i, j) of a tile is row i, column j of its 4×4 input (or
// 2×2 output-gradient) window; its mask is masks[4i+j] (masks[2i+j] for the 2×2 window), a
// 16-bit lane mask: lanes off read zero and nothing outside the window's image.

// GCOLR gathers column j (byte displacement disp) of the four rows (bases SI, AX, BX, DX, one
// index vector Z31, masks at byte offsets m0..m3 of R8) and writes the column of t = Bᵀ d:
// t0 = d0 − d2, t1 = d1 + d2, t2 = d2 − d1, t3 = d1 − d3.
#define GCOLR(disp, m0, m1, m2, m3, t0, t1, t2, t3) \
	VPXORD     Z24, Z24, Z24;                \
	KMOVW      m0(R8), K1;                   \
	VGATHERDPS disp(SI)(Z31*4), K1, Z24;     \
	VPXORD     Z25, Z25, Z25;                \
	KMOVW      m1(R8), K2;                   \
	VGATHERDPS disp(AX)(Z31*4), K2, Z25;     \
	VPXORD     Z26, Z26, Z26;                \
	KMOVW      m2(R8), K3;                   \
	VGATHERDPS disp(BX)(Z31*4), K3, Z26;     \
	VPXORD     Z27, Z27, Z27;                \
	KMOVW      m3(R8), K4;                   \
	VGATHERDPS disp(DX)(Z31*4), K4, Z27;     \
	VSUBPS     Z26, Z24, t0;                 \
	VADDPS     Z26, Z25, t1;                 \
	VSUBPS     Z25, Z26, t2;                 \
	VSUBPS     Z27, Z25, t3

// VROW writes row i of V = t B from t_i0..t_i3 (a, b, c, d) to the ξ = 4i..4i+3 rows based at
// R10 (ξ stride R11, 3·stride R12): v0 = a − c, v1 = b + c, v2 = c − b, v3 = b − d.
#define VROW(a, b, c, d) \
	VSUBPS  c, a, Z16;           \
	VADDPS  c, b, Z17;           \
	VSUBPS  b, c, Z18;           \
	VSUBPS  d, b, Z19;           \
	VMOVUPS Z16, (R10);          \
	VMOVUPS Z17, (R10)(R11*1);   \
	VMOVUPS Z18, (R10)(R11*2);   \
	VMOVUPS Z19, (R10)(R12*1);   \
	LEAQ    (R10)(R11*4), R10

// ZROW stores row i of Z (ξ = 4i..4i+3: za..zd, their low halves ya..yd) as two 8-lane halves:
// low at R10 (ξ stride R11, 3·stride R12), high at DX; then moves both bases to row i+1.
#define ZROW(za, ya, zb, yb, zc, yc, zd, yd) \
	VMOVUPS       ya, (R10);            \
	VMOVUPS       yb, (R10)(R11*1);     \
	VMOVUPS       yc, (R10)(R11*2);     \
	VMOVUPS       yd, (R10)(R12*1);     \
	VEXTRACTF32X8 $1, za, Y22;          \
	VMOVUPS       Y22, (DX);            \
	VEXTRACTF32X8 $1, zb, Y23;          \
	VMOVUPS       Y23, (DX)(R11*1);     \
	VEXTRACTF32X8 $1, zc, Y24;          \
	VMOVUPS       Y24, (DX)(R11*2);     \
	VEXTRACTF32X8 $1, zd, Y25;          \
	VMOVUPS       Y25, (DX)(R12*1);     \
	LEAQ          (R10)(R11*4), R10;    \
	LEAQ          (DX)(R11*4), DX

// func inputChan16(x *float32, off, hw, w, ng int, idx *int32, masks *uint16, v *float32, xis int)
TEXT ·inputChan16(SB), NOSPLIT, $0-72
	MOVQ x+0(FP), SI
	MOVQ off+8(FP), AX
	LEAQ (SI)(AX*4), SI
	MOVQ hw+16(FP), R9
	SHLQ $6, R9 // 16 channels
	MOVQ w+24(FP), R13
	SHLQ $2, R13
	LEAQ (SI)(R13*1), AX
	LEAQ (AX)(R13*1), BX
	LEAQ (BX)(R13*1), DX
	MOVQ ng+32(FP), CX
	MOVQ idx+40(FP), R10
	VMOVDQU32 (R10), Z31
	MOVQ masks+48(FP), R8
	MOVQ v+56(FP), DI
	MOVQ xis+64(FP), R11
	SHLQ $2, R11
	LEAQ (R11)(R11*2), R12

inc16loop:
	GCOLR(0, 0, 8, 16, 24, Z0, Z4, Z8, Z12)
	GCOLR(4, 2, 10, 18, 26, Z1, Z5, Z9, Z13)
	GCOLR(8, 4, 12, 20, 28, Z2, Z6, Z10, Z14)
	GCOLR(12, 6, 14, 22, 30, Z3, Z7, Z11, Z15)
	MOVQ DI, R10
	VROW(Z0, Z1, Z2, Z3)
	VROW(Z4, Z5, Z6, Z7)
	VROW(Z8, Z9, Z10, Z11)
	VROW(Z12, Z13, Z14, Z15)
	ADDQ R9, SI
	ADDQ R9, AX
	ADDQ R9, BX
	ADDQ R9, DX
	ADDQ $64, DI
	DECQ CX
	JNZ  inc16loop
	VZEROUPPER
	RET

// func gradChan16(dy *float32, off, hw, w, ng int, idx *int32, masks *uint16, z *float32, xis, ldz int)
TEXT ·gradChan16(SB), NOSPLIT, $0-80
	MOVQ dy+0(FP), SI
	MOVQ off+8(FP), AX
	LEAQ (SI)(AX*4), SI
	MOVQ hw+16(FP), R9
	SHLQ $6, R9
	MOVQ w+24(FP), AX
	LEAQ (SI)(AX*4), AX
	MOVQ ng+32(FP), CX
	MOVQ idx+40(FP), R10
	VMOVDQU32 (R10), Z31
	MOVQ masks+48(FP), R8
	KMOVW 0(R8), K1
	KMOVW 2(R8), K2
	KMOVW 4(R8), K3
	KMOVW 6(R8), K4
	MOVQ z+56(FP), DI
	MOVQ xis+64(FP), R11
	SHLQ $2, R11
	LEAQ (R11)(R11*2), R12
	MOVQ ldz+72(FP), R13
	SHLQ $2, R13
	VPXORD Z30, Z30, Z30

grc16loop:
	VPXORD     Z0, Z0, Z0
	KMOVW      K1, K5
	VGATHERDPS (SI)(Z31*4), K5, Z0
	VPXORD     Z1, Z1, Z1
	KMOVW      K2, K5
	VGATHERDPS 4(SI)(Z31*4), K5, Z1
	VPXORD     Z2, Z2, Z2
	KMOVW      K3, K5
	VGATHERDPS (AX)(Z31*4), K5, Z2
	VPXORD     Z3, Z3, Z3
	KMOVW      K4, K5
	VGATHERDPS 4(AX)(Z31*4), K5, Z3
	// Rows r = A·g: r0 = g0, r1 = g0 + g1, r2 = g0 − g1, r3 = −g1 (g0 = Z0,Z1; g1 = Z2,Z3).
	VADDPS Z2, Z0, Z4
	VADDPS Z3, Z1, Z5
	VSUBPS Z2, Z0, Z6
	VSUBPS Z3, Z1, Z7
	VSUBPS Z2, Z30, Z8
	VSUBPS Z3, Z30, Z9
	// Each row (a, b) becomes (a, a + b, a − b, −b).
	VADDPS Z1, Z0, Z10
	VSUBPS Z1, Z0, Z11
	VSUBPS Z1, Z30, Z12
	VADDPS Z5, Z4, Z13
	VSUBPS Z5, Z4, Z14
	VSUBPS Z5, Z30, Z15
	VADDPS Z7, Z6, Z16
	VSUBPS Z7, Z6, Z17
	VSUBPS Z7, Z30, Z18
	VADDPS Z9, Z8, Z19
	VSUBPS Z9, Z8, Z20
	VSUBPS Z9, Z30, Z21
	MOVQ DI, R10
	LEAQ (DI)(R13*1), DX
	ZROW(Z0, Y0, Z10, Y10, Z11, Y11, Z12, Y12)
	ZROW(Z4, Y4, Z13, Y13, Z14, Y14, Z15, Y15)
	ZROW(Z6, Y6, Z16, Y16, Z17, Y17, Z18, Y18)
	ZROW(Z8, Y8, Z19, Y19, Z20, Y20, Z21, Y21)
	ADDQ R9, SI
	ADDQ R9, AX
	LEAQ (DI)(R13*2), DI
	DECQ CX
	JNZ  grc16loop
	VZEROUPPER
	RET
