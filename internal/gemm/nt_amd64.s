#include "textflag.h"

// func ntKernel3x9(rows *[12]*float32, kv int, mask uint16, out *[27]float32)
//
// Dot products of three A rows with nine B rows (rows[0..2] and rows[3..11]), each of 16·kv
// values plus a tail of the lanes of mask: out[3t + r] = Σ A_r·B_t. Accumulator r·9 + t, 16 lanes
// summed along the row with one fused multiply-add per vector, then the lanes halved four times
// (8+8, 4+4, 2+2, 1+1). A rows in R8 R9 R10 (loaded into Z27 Z28 Z29), B rows in R11..R15, AX,
// BX, CX, DX (each in turn in Z30), SI the offset along the rows.

// FMA3 multiplies the B vector in Z30 into accumulators c0, c1, c2 (A rows 0, 1, 2).
#define FMA3(c0, c1, c2) \
	VFMADD231PS Z30, Z27, c0; \
	VFMADD231PS Z30, Z28, c1; \
	VFMADD231PS Z30, Z29, c2

// TAPS runs the nine B rows through FMA3 after the tap op has loaded each into Z30.
#define TAPS(tap) \
	tap(R11); FMA3(Z0, Z9, Z18);  \
	tap(R12); FMA3(Z1, Z10, Z19); \
	tap(R13); FMA3(Z2, Z11, Z20); \
	tap(R14); FMA3(Z3, Z12, Z21); \
	tap(R15); FMA3(Z4, Z13, Z22); \
	tap(AX); FMA3(Z5, Z14, Z23);  \
	tap(BX); FMA3(Z6, Z15, Z24);  \
	tap(CX); FMA3(Z7, Z16, Z25);  \
	tap(DX); FMA3(Z8, Z17, Z26)

// LOADB and LOADBM load 16 values of a B row into Z30, or the lanes of K1 (the others zero).
#define LOADB(breg) VMOVUPS (breg)(SI*1), Z30
#define LOADBM(breg) VMOVUPS.Z (breg)(SI*1), K1, Z30

// RED sums the 16 lanes of accumulator z (y its lower half) into the float at off(SI).
#define RED(z, y, off) \
	VEXTRACTF64X4 $1, z, Y31;     \
	VADDPS Y31, y, Y31;           \
	VEXTRACTF32X4 $1, Y31, X30;   \
	VADDPS X30, X31, X31;         \
	VPERMILPS $0x4e, X31, X30;    \
	VADDPS X30, X31, X31;         \
	VPERMILPS $0xb1, X31, X30;    \
	VADDSS X30, X31, X31;         \
	VMOVSS X31, off(SI)

TEXT ·ntKernel3x9(SB), NOSPLIT, $0-32
	MOVQ rows+0(FP), SI
	MOVQ 0(SI), R8
	MOVQ 8(SI), R9
	MOVQ 16(SI), R10
	MOVQ 24(SI), R11
	MOVQ 32(SI), R12
	MOVQ 40(SI), R13
	MOVQ 48(SI), R14
	MOVQ 56(SI), R15
	MOVQ 64(SI), AX
	MOVQ 72(SI), BX
	MOVQ 80(SI), CX
	MOVQ 88(SI), DX
	MOVQ kv+8(FP), DI
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	XORQ SI, SI
	TESTQ DI, DI
	JZ tail
loop:
	VMOVUPS (R8)(SI*1), Z27
	VMOVUPS (R9)(SI*1), Z28
	VMOVUPS (R10)(SI*1), Z29
	TAPS(LOADB)
	ADDQ $64, SI
	DECQ DI
	JNZ loop
tail:
	KMOVW mask+16(FP), K1
	KORTESTW K1, K1
	JZ reduce
	VMOVUPS.Z (R8)(SI*1), K1, Z27
	VMOVUPS.Z (R9)(SI*1), K1, Z28
	VMOVUPS.Z (R10)(SI*1), K1, Z29
	TAPS(LOADBM)
reduce:
	MOVQ out+24(FP), SI
	RED(Z0, Y0, 0)
	RED(Z1, Y1, 12)
	RED(Z2, Y2, 24)
	RED(Z3, Y3, 36)
	RED(Z4, Y4, 48)
	RED(Z5, Y5, 60)
	RED(Z6, Y6, 72)
	RED(Z7, Y7, 84)
	RED(Z8, Y8, 96)
	RED(Z9, Y9, 4)
	RED(Z10, Y10, 16)
	RED(Z11, Y11, 28)
	RED(Z12, Y12, 40)
	RED(Z13, Y13, 52)
	RED(Z14, Y14, 64)
	RED(Z15, Y15, 76)
	RED(Z16, Y16, 88)
	RED(Z17, Y17, 100)
	RED(Z18, Y18, 8)
	RED(Z19, Y19, 20)
	RED(Z20, Y20, 32)
	RED(Z21, Y21, 44)
	RED(Z22, Y22, 56)
	RED(Z23, Y23, 68)
	RED(Z24, Y24, 80)
	RED(Z25, Y25, 92)
	RED(Z26, Y26, 104)
	VZEROUPPER
	RET
