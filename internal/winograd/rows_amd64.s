#include "textflag.h"

// The tile-row transforms of rows.go: input16r and output16r/output16rAcc read and write whole
// image rows with masked loads and stores, and pick the tiles' taps and columns with two-table
// permutes (VPERMI2PS), instead of gathering and scattering single values. grp points at the
// group's rowGroup: pin at 0, pout at 256, in at 384, out at 400, inMsk at 416, outMsk at 432,
// lanes at 440 (checked by TestRowGroupLayout).

// TAPS loads window row i (loads at AX and DX, masks at byte offsets m0, m1 of R8) and picks
// its four taps into d0..d3 with the index vectors Z28..Z31; then moves AX and DX a row down.
#define TAPS(m0, m1, d0, d1, d2, d3) \
	KMOVW       m0(R8), K1;   \
	VMOVUPS.Z   (AX), K1, Z16; \
	KMOVW       m1(R8), K2;   \
	VMOVUPS.Z   (DX), K2, Z17; \
	VMOVAPS     Z28, d0;      \
	VPERMI2PS   Z17, Z16, d0; \
	VMOVAPS     Z29, d1;      \
	VPERMI2PS   Z17, Z16, d1; \
	VMOVAPS     Z30, d2;      \
	VPERMI2PS   Z17, Z16, d2; \
	VMOVAPS     Z31, d3;      \
	VPERMI2PS   Z17, Z16, d3; \
	ADDQ        BX, AX;       \
	ADDQ        BX, DX

// TCOL turns column j of d (d0..d3 in rows 0..3) into the column of t = Bᵀ d, in place:
// t0 = d0 − d2, t1 = d1 + d2, t2 = d2 − d1, t3 = d1 − d3.
#define TCOL(d0, d1, d2, d3) \
	VSUBPS  d2, d0, Z24; \
	VADDPS  d2, d1, Z25; \
	VSUBPS  d1, d2, Z26; \
	VSUBPS  d3, d1, d3;  \
	VMOVAPS Z24, d0;     \
	VMOVAPS Z25, d1;     \
	VMOVAPS Z26, d2

// VROWM writes row i of V = t B from t_i0..t_i3 (a, b, c, d) to the ξ = 4i..4i+3 rows based at
// R10 (ξ stride R11, 3·stride R12), in the group's lanes K7: v0 = a − c, v1 = b + c,
// v2 = c − b, v3 = b − d.
#define VROWM(a, b, c, d) \
	VSUBPS  c, a, Z16;              \
	VADDPS  c, b, Z17;              \
	VSUBPS  b, c, Z18;              \
	VSUBPS  d, b, Z19;              \
	VMOVUPS Z16, K7, (R10);         \
	VMOVUPS Z17, K7, (R10)(R11*1);  \
	VMOVUPS Z18, K7, (R10)(R11*2);  \
	VMOVUPS Z19, K7, (R10)(R12*1);  \
	LEAQ    (R10)(R11*4), R10

// OUTCORE loads the 16 products of one output channel (ξ rows based at SI, stride R11, 3·stride
// R12) and computes its four output vectors plus the bias at (DX):
// Z24 = y00, Z25 = y01, Z16 = y10, Z17 = y11, from s0j = m0j + m1j + m2j, s1j = m1j − m2j − m3j,
// y·0 = s·0 + s·1 + s·2, y·1 = s·1 − s·2 − s·3.
#define OUTCORE \
	MOVQ    SI, R10;              \
	VMOVUPS (R10), Z0;            \
	VMOVUPS (R10)(R11*1), Z1;     \
	VMOVUPS (R10)(R11*2), Z2;     \
	VMOVUPS (R10)(R12*1), Z3;     \
	LEAQ    (R10)(R11*4), R10;    \
	VMOVUPS (R10), Z4;            \
	VMOVUPS (R10)(R11*1), Z5;     \
	VMOVUPS (R10)(R11*2), Z6;     \
	VMOVUPS (R10)(R12*1), Z7;     \
	LEAQ    (R10)(R11*4), R10;    \
	VMOVUPS (R10), Z8;            \
	VMOVUPS (R10)(R11*1), Z9;     \
	VMOVUPS (R10)(R11*2), Z10;    \
	VMOVUPS (R10)(R12*1), Z11;    \
	LEAQ    (R10)(R11*4), R10;    \
	VMOVUPS (R10), Z12;           \
	VMOVUPS (R10)(R11*1), Z13;    \
	VMOVUPS (R10)(R11*2), Z14;    \
	VMOVUPS (R10)(R12*1), Z15;    \
	VADDPS  Z4, Z0, Z16;          \
	VADDPS  Z8, Z16, Z16;         \
	VADDPS  Z5, Z1, Z17;          \
	VADDPS  Z9, Z17, Z17;         \
	VADDPS  Z6, Z2, Z18;          \
	VADDPS  Z10, Z18, Z18;        \
	VADDPS  Z7, Z3, Z19;          \
	VADDPS  Z11, Z19, Z19;        \
	VSUBPS  Z8, Z4, Z20;          \
	VSUBPS  Z12, Z20, Z20;        \
	VSUBPS  Z9, Z5, Z21;          \
	VSUBPS  Z13, Z21, Z21;        \
	VSUBPS  Z10, Z6, Z22;         \
	VSUBPS  Z14, Z22, Z22;        \
	VSUBPS  Z11, Z7, Z23;         \
	VSUBPS  Z15, Z23, Z23;        \
	VBROADCASTSS (DX), Z26;       \
	VADDPS  Z17, Z16, Z24;        \
	VADDPS  Z18, Z24, Z24;        \
	VADDPS  Z26, Z24, Z24;        \
	VSUBPS  Z18, Z17, Z25;        \
	VSUBPS  Z19, Z25, Z25;        \
	VADDPS  Z26, Z25, Z25;        \
	VADDPS  Z21, Z20, Z16;        \
	VADDPS  Z22, Z16, Z16;        \
	VADDPS  Z26, Z16, Z16;        \
	VSUBPS  Z22, Z21, Z17;        \
	VSUBPS  Z23, Z17, Z17;        \
	VADDPS  Z26, Z17, Z17

// OUTSETUP loads output16r's arguments: products SI (row stride R13, ξ stride R11/R12),
// channels CX, output DI (plane stride R9), row stride BX, group R8, the output permutes Z28
// (vector 0) and Z29 (vector 1), masks K1..K4 (row a, vector k: K(1+2a+k)), bias DX.
#define OUTSETUP \
	MOVQ      m+0(FP), SI;       \
	MOVQ      ldm+8(FP), R13;    \
	SHLQ      $2, R13;           \
	MOVQ      xis+16(FP), R11;   \
	SHLQ      $2, R11;           \
	LEAQ      (R11)(R11*2), R12; \
	MOVQ      nc+24(FP), CX;     \
	MOVQ      y+32(FP), DI;      \
	MOVQ      hw+40(FP), R9;     \
	SHLQ      $2, R9;            \
	MOVQ      w+48(FP), BX;      \
	SHLQ      $2, BX;            \
	MOVQ      grp+56(FP), R8;      \
	VMOVDQU32 256(R8), Z28;      \
	VMOVDQU32 320(R8), Z29;      \
	KMOVW     432(R8), K1;       \
	KMOVW     434(R8), K2;       \
	KMOVW     436(R8), K3;       \
	KMOVW     438(R8), K4;       \
	MOVQ      bias+64(FP), DX

// OUTVECS interleaves one channel's output rows into Z30, Z31 (row 0) and Z20, Z21 (row 1) and
// points AX and R10 at its vectors 0 and 1 of row 0.
#define OUTVECS \
	MOVQ      400(R8), AX;          \
	LEAQ      (DI)(AX*4), AX;       \
	MOVQ      408(R8), R10;         \
	LEAQ      (DI)(R10*4), R10;     \
	VMOVAPS   Z28, Z30;             \
	VPERMI2PS Z25, Z24, Z30;        \
	VMOVAPS   Z29, Z31;             \
	VPERMI2PS Z25, Z24, Z31;        \
	VMOVAPS   Z28, Z20;             \
	VPERMI2PS Z17, Z16, Z20;        \
	VMOVAPS   Z29, Z21;             \
	VPERMI2PS Z17, Z16, Z21

// QLOAD loads window rows 0..3 of quad segment s (float offset at byte ioff of R8, masks at
// byte moff + 8i of R8) into r0..r3 with the load op (VMOVUPS.Z for the first segment of a
// register, VMOVUPS merging for the second).
#define QLOAD(op, ioff, moff, r0, r1, r2, r3) \
	MOVQ  ioff(R8), AX;         \
	LEAQ  (SI)(AX*4), AX;       \
	KMOVW moff(R8), K1;         \
	op    (AX), K1, r0;         \
	KMOVW moff+8(R8), K1;       \
	op    (AX)(BX*1), K1, r1;   \
	KMOVW moff+16(R8), K1;      \
	op    (AX)(BX*2), K1, r2;   \
	LEAQ  (AX)(BX*2), AX;       \
	KMOVW moff+24(R8), K1;      \
	op    (AX)(BX*1), K1, r3

// QTAPS picks window row i's four taps from its tables lo, hi into d0..d3.
#define QTAPS(lo, hi, d0, d1, d2, d3) \
	VMOVAPS   Z28, d0;  \
	VPERMI2PS hi, lo, d0; \
	VMOVAPS   Z29, d1;  \
	VPERMI2PS hi, lo, d1; \
	VMOVAPS   Z30, d2;  \
	VPERMI2PS hi, lo, d2; \
	VMOVAPS   Z31, d3;  \
	VPERMI2PS hi, lo, d3

// QSTORE writes quad segment s's part of the output rows (vectors r0, r1; offset at byte ooff of
// R8, masks at byte moff, moff + 8).
#define QSTORE(ooff, moff, r0, r1) \
	MOVQ    ooff(R8), AX;          \
	LEAQ    (DI)(AX*4), AX;        \
	KMOVW   moff(R8), K5;          \
	VMOVUPS r0, K5, (AX);          \
	KMOVW   moff+8(R8), K5;        \
	VMOVUPS r1, K5, (AX)(BX*1)

// QSTOREACC is QSTORE adding to the output.
#define QSTOREACC(ooff, moff, r0, r1) \
	MOVQ      ooff(R8), AX;          \
	LEAQ      (DI)(AX*4), AX;        \
	KMOVW     moff(R8), K5;          \
	VMOVUPS.Z (AX), K5, Z22;         \
	VADDPS    Z22, r0, Z22;          \
	VMOVUPS   Z22, K5, (AX);         \
	KMOVW     moff+8(R8), K5;        \
	VMOVUPS.Z (AX)(BX*1), K5, Z23;   \
	VADDPS    Z23, r1, Z23;          \
	VMOVUPS   Z23, K5, (AX)(BX*1)

// QVECS interleaves one channel's output rows: Z30, Z31 (row 0, vectors 0 and 1), Z20, Z21 (row 1).
#define QVECS \
	VMOVAPS   Z28, Z30;      \
	VPERMI2PS Z25, Z24, Z30; \
	VMOVAPS   Z29, Z31;      \
	VPERMI2PS Z25, Z24, Z31; \
	VMOVAPS   Z28, Z20;      \
	VPERMI2PS Z17, Z16, Z20; \
	VMOVAPS   Z29, Z21;      \
	VPERMI2PS Z17, Z16, Z21

// INSETUP loads input16r's and input16q's arguments: input SI (plane stride R9, row stride
// BX), group R8 with its tap permutes in Z28..Z31 and lane mask K7, channels CX, output DI
// (channel stride R13, ξ stride R11, 3·stride R12).
#define INSETUP \
	MOVQ      x+0(FP), SI;        \
	MOVQ      grp+8(FP), R8;      \
	MOVQ      hw+16(FP), R9;      \
	SHLQ      $2, R9;             \
	MOVQ      w+24(FP), BX;       \
	SHLQ      $2, BX;             \
	MOVQ      nc+32(FP), CX;      \
	MOVQ      v+40(FP), DI;       \
	MOVQ      ldv+48(FP), R13;    \
	SHLQ      $2, R13;            \
	MOVQ      xis+56(FP), R11;    \
	SHLQ      $2, R11;            \
	LEAQ      (R11)(R11*2), R12;  \
	VMOVDQU32 0(R8), Z28;         \
	VMOVDQU32 64(R8), Z29;        \
	VMOVDQU32 128(R8), Z30;       \
	VMOVDQU32 192(R8), Z31;       \
	KMOVW     440(R8), K7

// INFINISH turns one channel's taps d (Z(4i+j)) into V = Bᵀ d B, writes it, and moves to the
// next channel (the caller's JNZ loops while CX is not 0).
#define INFINISH \
	TCOL(Z0, Z4, Z8, Z12);    \
	TCOL(Z1, Z5, Z9, Z13);    \
	TCOL(Z2, Z6, Z10, Z14);   \
	TCOL(Z3, Z7, Z11, Z15);   \
	MOVQ DI, R10;             \
	VROWM(Z0, Z1, Z2, Z3);    \
	VROWM(Z4, Z5, Z6, Z7);    \
	VROWM(Z8, Z9, Z10, Z11);  \
	VROWM(Z12, Z13, Z14, Z15); \
	ADDQ R9, SI;              \
	ADDQ R13, DI;             \
	DECQ CX

// OUTNEXT moves the output transforms to the next channel (the caller's JNZ loops while CX is
// not 0).
#define OUTNEXT \
	ADDQ R13, SI; \
	ADDQ R9, DI;  \
	ADDQ $4, DX;  \
	DECQ CX

// func input16r(x *float32, grp *rowGroup, hw, w, nc int, v *float32, ldv, xis int)
TEXT ·input16r(SB), NOSPLIT, $0-64
	INSETUP

in16rloop:
	MOVQ 384(R8), AX
	LEAQ (SI)(AX*4), AX
	MOVQ 392(R8), DX
	LEAQ (SI)(DX*4), DX
	TAPS(416, 418, Z0, Z1, Z2, Z3)
	TAPS(420, 422, Z4, Z5, Z6, Z7)
	TAPS(424, 426, Z8, Z9, Z10, Z11)
	TAPS(428, 430, Z12, Z13, Z14, Z15)
	INFINISH
	JNZ  in16rloop
	VZEROUPPER
	RET

// func output16r(m *float32, ldm, xis, nc int, y *float32, hw, w int, grp *rowGroup, bias *float32)
TEXT ·output16r(SB), NOSPLIT, $0-72
	OUTSETUP

out16rloop:
	OUTCORE
	OUTVECS
	VMOVUPS Z30, K1, (AX)
	VMOVUPS Z31, K2, (R10)
	VMOVUPS Z20, K3, (AX)(BX*1)
	VMOVUPS Z21, K4, (R10)(BX*1)
	OUTNEXT
	JNZ  out16rloop
	VZEROUPPER
	RET

// func output16rAcc(m *float32, ldm, xis, nc int, y *float32, hw, w int, grp *rowGroup, bias *float32)
TEXT ·output16rAcc(SB), NOSPLIT, $0-72
	OUTSETUP

out16raccloop:
	OUTCORE
	OUTVECS
	VMOVUPS.Z (AX), K1, Z22
	VADDPS    Z22, Z30, Z30
	VMOVUPS   Z30, K1, (AX)
	VMOVUPS.Z (R10), K2, Z23
	VADDPS    Z23, Z31, Z31
	VMOVUPS   Z31, K2, (R10)
	VMOVUPS.Z (AX)(BX*1), K3, Z22
	VADDPS    Z22, Z20, Z20
	VMOVUPS   Z20, K3, (AX)(BX*1)
	VMOVUPS.Z (R10)(BX*1), K4, Z23
	VADDPS    Z23, Z21, Z21
	VMOVUPS   Z21, K4, (R10)(BX*1)
	OUTNEXT
	JNZ  out16raccloop
	VZEROUPPER
	RET

// func input16q(x *float32, grp *rowGroup, hw, w, nc int, v *float32, ldv, xis int)
//
// input16r for a quad group: window row i's tables are Z(16+2i) (segments 0, 1) and Z(17+2i)
// (segments 2, 3).
TEXT ·input16q(SB), NOSPLIT, $0-64
	INSETUP

in16qloop:
	QLOAD(VMOVUPS.Z, 456, 520, Z16, Z18, Z20, Z22)
	QLOAD(VMOVUPS, 464, 522, Z16, Z18, Z20, Z22)
	QLOAD(VMOVUPS.Z, 472, 524, Z17, Z19, Z21, Z23)
	QLOAD(VMOVUPS, 480, 526, Z17, Z19, Z21, Z23)
	QTAPS(Z16, Z17, Z0, Z1, Z2, Z3)
	QTAPS(Z18, Z19, Z4, Z5, Z6, Z7)
	QTAPS(Z20, Z21, Z8, Z9, Z10, Z11)
	QTAPS(Z22, Z23, Z12, Z13, Z14, Z15)
	INFINISH
	JNZ  in16qloop
	VZEROUPPER
	RET

// func output16q(m *float32, ldm, xis, nc int, y *float32, hw, w int, grp *rowGroup, bias *float32)
TEXT ·output16q(SB), NOSPLIT, $0-72
	OUTSETUP

out16qloop:
	OUTCORE
	QVECS
	QSTORE(488, 552, Z30, Z20)
	QSTORE(496, 554, Z30, Z20)
	QSTORE(504, 556, Z31, Z21)
	QSTORE(512, 558, Z31, Z21)
	OUTNEXT
	JNZ  out16qloop
	VZEROUPPER
	RET

// func output16qAcc(m *float32, ldm, xis, nc int, y *float32, hw, w int, grp *rowGroup, bias *float32)
TEXT ·output16qAcc(SB), NOSPLIT, $0-72
	OUTSETUP

out16qaccloop:
	OUTCORE
	QVECS
	QSTOREACC(488, 552, Z30, Z20)
	QSTOREACC(496, 554, Z30, Z20)
	QSTOREACC(504, 556, Z31, Z21)
	QSTOREACC(512, 558, Z31, Z21)
	OUTNEXT
	JNZ  out16qaccloop
	VZEROUPPER
	RET
