// Macros shared by the weight gradient's float32 transforms (transform_amd64.s) and their
// bfloat16 pair-layout twins (bf16_amd64.s).

// GCOLB loads column j (byte displacement disp) of the four rows of a channel-blocked window
// (bases SI, AX, BX, DX; 16 channels a pixel, masks at byte offsets m0..m3 of R8) and writes
// the column of t = Bᵀ d: t0 = d0 − d2, t1 = d1 + d2, t2 = d2 − d1, t3 = d1 − d3.
#define GCOLB(disp, m0, m1, m2, m3, t0, t1, t2, t3) \
	KMOVW     m0(R8), K1;             \
	VMOVUPS.Z disp(SI), K1, Z24;      \
	KMOVW     m1(R8), K2;             \
	VMOVUPS.Z disp(AX), K2, Z25;      \
	KMOVW     m2(R8), K3;             \
	VMOVUPS.Z disp(BX), K3, Z26;      \
	KMOVW     m3(R8), K4;             \
	VMOVUPS.Z disp(DX), K4, Z27;      \
	VSUBPS    Z26, Z24, t0;           \
	VADDPS    Z26, Z25, t1;           \
	VSUBPS    Z25, Z26, t2;           \
	VSUBPS    Z27, Z25, t3

// INBSETUP loads inputBlk16's arguments: SI, AX, BX, DX the four window rows of the first
// channel group, R9 a group's stride, CX the groups, R8 the masks, DI the output, R11 the ξ
// stride (R12 three of them).
#define INBSETUP \
	MOVQ x+0(FP), SI;      \
	MOVQ off+8(FP), AX;    \
	SHLQ $6, AX;           \
	ADDQ AX, SI;           \
	MOVQ hw+16(FP), R9;    \
	SHLQ $6, R9;           \
	MOVQ w+24(FP), R13;    \
	SHLQ $6, R13;          \
	LEAQ (SI)(R13*1), AX;  \
	LEAQ (AX)(R13*1), BX;  \
	LEAQ (BX)(R13*1), DX;  \
	MOVQ ng+32(FP), CX;    \
	MOVQ masks+40(FP), R8; \
	MOVQ v+48(FP), DI;     \
	MOVQ xis+56(FP), R11;  \
	SHLQ $2, R11;          \
	LEAQ (R11)(R11*2), R12

// INBCOLS computes t = Bᵀ d for the four columns of a channel group's window (t in Z0..Z15, row
// i in Z(4i)..Z(4i+3)) and points R10 at the group's output.
#define INBCOLS \
	GCOLB(0, 0, 8, 16, 24, Z0, Z4, Z8, Z12);     \
	GCOLB(64, 2, 10, 18, 26, Z1, Z5, Z9, Z13);   \
	GCOLB(128, 4, 12, 20, 28, Z2, Z6, Z10, Z14); \
	GCOLB(192, 6, 14, 22, 30, Z3, Z7, Z11, Z15); \
	MOVQ DI, R10

// INBNEXT moves to the next channel group (the caller's JNZ loops while CX is not 0).
#define INBNEXT \
	ADDQ R9, SI;  \
	ADDQ R9, AX;  \
	ADDQ R9, BX;  \
	ADDQ R9, DX;  \
	ADDQ $64, DI; \
	DECQ CX

// GRBSETUP loads gradBlk16's arguments: SI and AX the two rows of the first channel group's
// window, K1..K4 its masks, R9 a group's stride, CX the groups, DI the output, R11 the ξ stride
// (R12 three of them), R13 the panel stride; Z30 = 0.
#define GRBSETUP \
	MOVQ   dy+0(FP), SI;       \
	MOVQ   off+8(FP), AX;      \
	SHLQ   $6, AX;             \
	ADDQ   AX, SI;             \
	MOVQ   hw+16(FP), R9;      \
	SHLQ   $6, R9;             \
	MOVQ   w+24(FP), AX;       \
	SHLQ   $6, AX;             \
	ADDQ   SI, AX;             \
	MOVQ   ng+32(FP), CX;      \
	MOVQ   masks+40(FP), R8;   \
	KMOVW  0(R8), K1;          \
	KMOVW  2(R8), K2;          \
	KMOVW  4(R8), K3;          \
	KMOVW  6(R8), K4;          \
	MOVQ   z+48(FP), DI;       \
	MOVQ   xis+56(FP), R11;    \
	SHLQ   $2, R11;            \
	LEAQ   (R11)(R11*2), R12;  \
	MOVQ   ldz+64(FP), R13;    \
	SHLQ   $2, R13;            \
	VPXORD Z30, Z30, Z30

// GRBZ computes a channel group's Z = A dY Aᵀ: rows r = A·g (r0 = g0, r1 = g0 + g1, r2 = g0 − g1,
// r3 = −g1; g0 = Z0,Z1, g1 = Z2,Z3), each row (a, b) then (a, a + b, a − b, −b): Z row i (ξ =
// 4i..4i+3) in Z0 Z10 Z11 Z12 | Z4 Z13 Z14 Z15 | Z6 Z16 Z17 Z18 | Z8 Z19 Z20 Z21. R10 and DX
// point at the group's two panels.
#define GRBZ \
	VMOVUPS.Z (SI), K1, Z0;   \
	VMOVUPS.Z 64(SI), K2, Z1; \
	VMOVUPS.Z (AX), K3, Z2;   \
	VMOVUPS.Z 64(AX), K4, Z3; \
	VADDPS    Z2, Z0, Z4;     \
	VADDPS    Z3, Z1, Z5;     \
	VSUBPS    Z2, Z0, Z6;     \
	VSUBPS    Z3, Z1, Z7;     \
	VSUBPS    Z2, Z30, Z8;    \
	VSUBPS    Z3, Z30, Z9;    \
	VADDPS    Z1, Z0, Z10;    \
	VSUBPS    Z1, Z0, Z11;    \
	VSUBPS    Z1, Z30, Z12;   \
	VADDPS    Z5, Z4, Z13;    \
	VSUBPS    Z5, Z4, Z14;    \
	VSUBPS    Z5, Z30, Z15;   \
	VADDPS    Z7, Z6, Z16;    \
	VSUBPS    Z7, Z6, Z17;    \
	VSUBPS    Z7, Z30, Z18;   \
	VADDPS    Z9, Z8, Z19;    \
	VSUBPS    Z9, Z8, Z20;    \
	VSUBPS    Z9, Z30, Z21;   \
	MOVQ      DI, R10;        \
	LEAQ      (DI)(R13*1), DX

// GRBNEXT moves to the next channel group (the caller's JNZ loops while CX is not 0).
#define GRBNEXT \
	ADDQ R9, SI;          \
	ADDQ R9, AX;          \
	LEAQ (DI)(R13*2), DI; \
	DECQ CX
