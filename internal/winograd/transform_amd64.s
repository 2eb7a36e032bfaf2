#include "textflag.h"
#include "blk_amd64.h"

// The weight gradient's AVX-512 transforms (fast.go). They read images in the channel-blocked
// layout of blockChannels (16 channels a pixel, one lane per channel). Tap (i, j) of a tile is
// row i, column j of its 4×4 input (or 2×2 output-gradient) window; its mask is masks[4i+j]
// (masks[2i+j] for the 2×2 window), all lanes or none: lanes off read zero and nothing outside
// the window's image.

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

// FROW writes row i of U = G g Gᵀ from (a, b, c) = row i of G g to the ξ = 4i..4i+3 planes based
// at R10 (plane stride R11, 3·stride R12; Z31 = ½): u0 = a, u1 = ½(a + b + c), u2 = ½(a − b + c),
// u3 = c.
#define FROW(a, b, c) \
	VADDPS  b, a, Z20;            \
	VADDPS  c, Z20, Z20;          \
	VMULPS  Z31, Z20, Z20;        \
	VSUBPS  b, a, Z21;            \
	VADDPS  c, Z21, Z21;          \
	VMULPS  Z31, Z21, Z21;        \
	VMOVUPS a, (R10);             \
	VMOVUPS Z20, (R10)(R11*1);    \
	VMOVUPS Z21, (R10)(R11*2);    \
	VMOVUPS c, (R10)(R12*1);      \
	LEAQ    (R10)(R11*4), R10

// FTAP gathers tap k (byte displacement disp) of the 16 filters at SI (lane offsets Z30) into z.
#define FTAP(disp, z) \
	KXNORW     K1, K1, K1;            \
	VGATHERDPS disp(SI)(Z30*4), K1, z

// FCORE computes the 16 filters' U from g0..g8 in Z0..Z8 and writes it (see FROW).
#define FCORE \
	VADDPS  Z3, Z0, Z9;   \
	VADDPS  Z6, Z9, Z9;   \
	VMULPS  Z31, Z9, Z9;  \
	VADDPS  Z4, Z1, Z10;  \
	VADDPS  Z7, Z10, Z10; \
	VMULPS  Z31, Z10, Z10; \
	VADDPS  Z5, Z2, Z11;  \
	VADDPS  Z8, Z11, Z11; \
	VMULPS  Z31, Z11, Z11; \
	VSUBPS  Z3, Z0, Z12;  \
	VADDPS  Z6, Z12, Z12; \
	VMULPS  Z31, Z12, Z12; \
	VSUBPS  Z4, Z1, Z13;  \
	VADDPS  Z7, Z13, Z13; \
	VMULPS  Z31, Z13, Z13; \
	VSUBPS  Z5, Z2, Z14;  \
	VADDPS  Z8, Z14, Z14; \
	VMULPS  Z31, Z14, Z14; \
	MOVQ    DI, R10;      \
	FROW(Z0, Z1, Z2);     \
	FROW(Z9, Z10, Z11);   \
	FROW(Z12, Z13, Z14);  \
	FROW(Z6, Z7, Z8)

// FSETUP loads filters16's arguments: filters SI (advanced by R9 bytes a step), lane offsets
// Z30, steps CX, output DI (plane stride R11, 3·stride R12), Z31 = ½.
#define FSETUP \
	MOVQ         w+0(FP), SI;       \
	MOVQ         idx+8(FP), AX;     \
	VMOVDQU32    (AX), Z30;         \
	MOVQ         n+16(FP), CX;      \
	MOVQ         step+24(FP), R9;   \
	SHLQ         $2, R9;            \
	MOVQ         dst+32(FP), DI;    \
	MOVQ         plane+40(FP), R11; \
	SHLQ         $2, R11;           \
	LEAQ         (R11)(R11*2), R12; \
	MOVL         $0x3f000000, AX;   \
	VPBROADCASTD AX, Z31

// T2 is stage 2 of the 16×16 transpose for the four unpacked rows lo0, hi0 (rows 4g, 4g+1) and
// lo1, hi1 (rows 4g+2, 4g+3): u_m holds column m (+4k in lane k) of the four rows.
#define T2(lo0, hi0, lo1, hi1, u0, u1, u2, u3) \
	VSHUFPS $0x44, lo1, lo0, u0; \
	VSHUFPS $0xEE, lo1, lo0, u1; \
	VSHUFPS $0x44, hi1, hi0, u2; \
	VSHUFPS $0xEE, hi1, hi0, u3

// T34 gathers column m (lanes k of u_m, u_{4+m}, u_{8+m}, u_{12+m}: a, b, c, d) into the output
// columns m, 4+m, 8+m, 12+m, stored at byte offsets (64·m, …) of DI.
#define T34(a, b, c, d, s0, s1, s2, s3, off0, off1, off2, off3) \
	VSHUFF32X4 $0x88, b, a, s0; \
	VSHUFF32X4 $0xDD, b, a, s1; \
	VSHUFF32X4 $0x88, d, c, s2; \
	VSHUFF32X4 $0xDD, d, c, s3; \
	VSHUFF32X4 $0x88, s2, s0, a; \
	VSHUFF32X4 $0xDD, s2, s0, c; \
	VSHUFF32X4 $0x88, s3, s1, b; \
	VSHUFF32X4 $0xDD, s3, s1, d; \
	VMOVUPS    a, off0(DI);     \
	VMOVUPS    b, off1(DI);     \
	VMOVUPS    c, off2(DI);     \
	VMOVUPS    d, off3(DI)

// GD loads the 16 products of 8 filters (ξ planes based at SI, AX, BX, DX; plane stride R9,
// 3·stride R10) as float64 into Z0..Z15 (ξ = 4i + j in Z(4i+j)).
#define GD \
	VCVTPS2PD (SI), Z0;         \
	VCVTPS2PD (SI)(R9*1), Z1;   \
	VCVTPS2PD (SI)(R9*2), Z2;   \
	VCVTPS2PD (SI)(R10*1), Z3;  \
	VCVTPS2PD (AX), Z4;         \
	VCVTPS2PD (AX)(R9*1), Z5;   \
	VCVTPS2PD (AX)(R9*2), Z6;   \
	VCVTPS2PD (AX)(R10*1), Z7;  \
	VCVTPS2PD (BX), Z8;         \
	VCVTPS2PD (BX)(R9*1), Z9;   \
	VCVTPS2PD (BX)(R9*2), Z10;  \
	VCVTPS2PD (BX)(R10*1), Z11; \
	VCVTPS2PD (DX), Z12;        \
	VCVTPS2PD (DX)(R9*1), Z13;  \
	VCVTPS2PD (DX)(R9*2), Z14;  \
	VCVTPS2PD (DX)(R10*1), Z15

// GTCOL is column j of t = Gᵀ d (d0..d3 its rows): t0 = d0 + ½(d1 + d2), t1 = ½(d1 − d2),
// t2 = ½(d1 + d2) + d3 (Z31 = ½ in float64).
#define GTCOL(d0, d1, d2, d3, t0, t1, t2) \
	VADDPD d2, d1, Z28;  \
	VMULPD Z31, Z28, Z28; \
	VADDPD Z28, d0, t0;  \
	VSUBPD d2, d1, t1;   \
	VMULPD Z31, t1, t1;  \
	VADDPD d3, Z28, t2

// GWROW writes row i of dW = t G (r0..r3 = t_i0..t_i3) as float32 at byte offset off of DI:
// w0 = r0 + ½(r1 + r2), w1 = ½(r1 − r2), w2 = ½(r1 + r2) + r3.
#define GWROW(r0, r1, r2, r3, off) \
	VADDPD    r2, r1, Z28;    \
	VMULPD    Z31, Z28, Z28;  \
	VADDPD    Z28, r0, Z29;   \
	VCVTPD2PS Z29, Y29;       \
	VMOVUPS   Y29, off(DI);   \
	VSUBPD    r2, r1, Z29;    \
	VMULPD    Z31, Z29, Z29;  \
	VCVTPD2PS Z29, Y29;       \
	VMOVUPS   Y29, off+32(DI); \
	VADDPD    r3, Z28, Z29;   \
	VCVTPD2PS Z29, Y29;       \
	VMOVUPS   Y29, off+64(DI)

// func inputBlk16(x *float32, off, hw, w, ng int, masks *uint16, v *float32, xis int)
TEXT ·inputBlk16(SB), NOSPLIT, $0-64
	INBSETUP

inb16loop:
	INBCOLS
	VROW(Z0, Z1, Z2, Z3)
	VROW(Z4, Z5, Z6, Z7)
	VROW(Z8, Z9, Z10, Z11)
	VROW(Z12, Z13, Z14, Z15)
	INBNEXT
	JNZ  inb16loop
	VZEROUPPER
	RET

// func gradBlk16(dy *float32, off, hw, w, ng int, masks *uint16, z *float32, xis, ldz int)
TEXT ·gradBlk16(SB), NOSPLIT, $0-72
	GRBSETUP

grb16loop:
	GRBZ
	ZROW(Z0, Y0, Z10, Y10, Z11, Y11, Z12, Y12)
	ZROW(Z4, Y4, Z13, Y13, Z14, Y14, Z15, Y15)
	ZROW(Z6, Y6, Z16, Y16, Z17, Y17, Z18, Y18)
	ZROW(Z8, Y8, Z19, Y19, Z20, Y20, Z21, Y21)
	GRBNEXT
	JNZ  grb16loop
	VZEROUPPER
	RET

// func transpose16(src *float32, ld int, dst *float32, n int)
//
// For each of n blocks of 16 columns: the 16×16 block of 16 rows ld floats apart at src
// (+16·block) to dst (+256·block), transposed (dst[16p+l] = src[l·ld+p]).
TEXT ·transpose16(SB), NOSPLIT, $0-32
	MOVQ src+0(FP), SI
	MOVQ ld+8(FP), R9
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R10
	MOVQ dst+16(FP), DI
	MOVQ n+24(FP), CX
	TESTQ CX, CX
	JZ   tdone

tloop:
	MOVQ    SI, AX
	VMOVUPS (AX), Z0
	VMOVUPS (AX)(R9*1), Z1
	VMOVUPS (AX)(R9*2), Z2
	VMOVUPS (AX)(R10*1), Z3
	LEAQ    (AX)(R9*4), AX
	VMOVUPS (AX), Z4
	VMOVUPS (AX)(R9*1), Z5
	VMOVUPS (AX)(R9*2), Z6
	VMOVUPS (AX)(R10*1), Z7
	LEAQ    (AX)(R9*4), AX
	VMOVUPS (AX), Z8
	VMOVUPS (AX)(R9*1), Z9
	VMOVUPS (AX)(R9*2), Z10
	VMOVUPS (AX)(R10*1), Z11
	LEAQ    (AX)(R9*4), AX
	VMOVUPS (AX), Z12
	VMOVUPS (AX)(R9*1), Z13
	VMOVUPS (AX)(R9*2), Z14
	VMOVUPS (AX)(R10*1), Z15
	VUNPCKLPS Z1, Z0, Z16
	VUNPCKHPS Z1, Z0, Z17
	VUNPCKLPS Z3, Z2, Z18
	VUNPCKHPS Z3, Z2, Z19
	VUNPCKLPS Z5, Z4, Z20
	VUNPCKHPS Z5, Z4, Z21
	VUNPCKLPS Z7, Z6, Z22
	VUNPCKHPS Z7, Z6, Z23
	VUNPCKLPS Z9, Z8, Z24
	VUNPCKHPS Z9, Z8, Z25
	VUNPCKLPS Z11, Z10, Z26
	VUNPCKHPS Z11, Z10, Z27
	VUNPCKLPS Z13, Z12, Z28
	VUNPCKHPS Z13, Z12, Z29
	VUNPCKLPS Z15, Z14, Z30
	VUNPCKHPS Z15, Z14, Z31
	T2(Z16, Z17, Z18, Z19, Z0, Z1, Z2, Z3)
	T2(Z20, Z21, Z22, Z23, Z4, Z5, Z6, Z7)
	T2(Z24, Z25, Z26, Z27, Z8, Z9, Z10, Z11)
	T2(Z28, Z29, Z30, Z31, Z12, Z13, Z14, Z15)
	T34(Z0, Z4, Z8, Z12, Z16, Z17, Z18, Z19, 0, 256, 512, 768)
	T34(Z1, Z5, Z9, Z13, Z20, Z21, Z22, Z23, 64, 320, 576, 832)
	T34(Z2, Z6, Z10, Z14, Z24, Z25, Z26, Z27, 128, 384, 640, 896)
	T34(Z3, Z7, Z11, Z15, Z28, Z29, Z30, Z31, 192, 448, 704, 960)
	ADDQ $64, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ  tloop

tdone:
	VZEROUPPER
	RET

// func filters16(w *float32, idx *int32, n, step int, dst *float32, plane int)
//
// n times: U = G g Gᵀ of the 16 3×3 filters at w (+ step floats a time; lane l's filter at
// 9-float offset idx[l]) as 16 vectors at dst + ξ·plane (+ 16 floats a time).
TEXT ·filters16(SB), NOSPLIT, $0-48
	FSETUP
	TESTQ CX, CX
	JZ    f16done

f16loop:
	FTAP(0, Z0)
	FTAP(4, Z1)
	FTAP(8, Z2)
	FTAP(12, Z3)
	FTAP(16, Z4)
	FTAP(20, Z5)
	FTAP(24, Z6)
	FTAP(28, Z7)
	FTAP(32, Z8)
	FCORE
	ADDQ R9, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  f16loop

f16done:
	VZEROUPPER
	RET

// func filters16Rot(w *float32, idx *int32, n, step int, dst *float32, plane int)
//
// filters16 of the filters rotated by 180° (tap k read as tap 8 − k).
TEXT ·filters16Rot(SB), NOSPLIT, $0-48
	FSETUP
	TESTQ CX, CX
	JZ    f16rdone

f16rloop:
	FTAP(32, Z0)
	FTAP(28, Z1)
	FTAP(24, Z2)
	FTAP(20, Z3)
	FTAP(16, Z4)
	FTAP(12, Z5)
	FTAP(8, Z6)
	FTAP(4, Z7)
	FTAP(0, Z8)
	FCORE
	ADDQ R9, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  f16rloop

f16rdone:
	VZEROUPPER
	RET

// func filterGrad8(du *float32, plane, n int, out *float32)
//
// n times: Gᵀ d G in float64 of the 8 filters whose 16 products are at du + ξ·plane (+ 8 floats
// a time), rounded to float32 into out[k·8 + l] (tap k of filter l; + 72 floats a time).
TEXT ·filterGrad8(SB), NOSPLIT, $0-32
	MOVQ du+0(FP), SI
	MOVQ plane+8(FP), R9
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R10
	LEAQ (SI)(R9*4), AX
	LEAQ (AX)(R9*4), BX
	LEAQ (BX)(R9*4), DX
	MOVQ n+16(FP), CX
	MOVQ out+24(FP), DI
	MOVQ $0x3fe0000000000000, R11
	VPBROADCASTQ R11, Z31
	TESTQ CX, CX
	JZ    fgdone

fgloop:
	GD
	GTCOL(Z0, Z4, Z8, Z12, Z16, Z20, Z24)
	GTCOL(Z1, Z5, Z9, Z13, Z17, Z21, Z25)
	GTCOL(Z2, Z6, Z10, Z14, Z18, Z22, Z26)
	GTCOL(Z3, Z7, Z11, Z15, Z19, Z23, Z27)
	GWROW(Z16, Z17, Z18, Z19, 0)
	GWROW(Z20, Z21, Z22, Z23, 96)
	GWROW(Z24, Z25, Z26, Z27, 192)
	ADDQ $32, SI
	ADDQ $32, AX
	ADDQ $32, BX
	ADDQ $32, DX
	ADDQ $288, DI
	DECQ CX
	JNZ  fgloop

fgdone:
	VZEROUPPER
	RET
