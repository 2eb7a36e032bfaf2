#include "textflag.h"

// Adam's element update (adamGo in adam.go) in float64 lanes: four per YMM register (AVX2) or
// eight per ZMM register (AVX-512). Each Go operation is one IEEE instruction in the same order,
// with no fused multiply-add, so the results are the Go loop's bit for bit. Operands are in Go
// assembler order (sources first, destination last): VDIVPD Y8, Y3, Y3 is Y3 = Y3 / Y8.
//
// Addition commutes except in which NaN comes out when both operands are NaN (the first source
// wins, as in the scalar SSE instructions). The sums take the operand the Go compiler (1.26) puts
// first, the one with the product of g, so that even NaNs come out with the Go loop's sign and
// payload; the tests require bit equality only of numbers, since that choice is the compiler's.
//
// k points at an adamConsts: decay 0, l2 8, b1 16, c1 24, b2 32, c2 40, stepSize 48, bc2sqrt 56,
// eps 64, decayed 72. Registers: DI w, SI grad, R8 m, R9 v, CX the elements left, BX decayed;
// constants in 15 decay, 14 l2, 13 b1, 12 c1, 11 b2, 10 c2, 9 stepSize, 8 bc2sqrt, 7 eps.

#define LOADARGS \
	MOVQ    w+0(FP), DI; \
	MOVQ    grad+8(FP), SI; \
	MOVQ    m+16(FP), R8; \
	MOVQ    v+24(FP), R9; \
	MOVQ    n+32(FP), CX; \
	MOVQ    k+40(FP), AX; \
	MOVBLZX 72(AX), BX

// func adamAVX2(w, grad, m, v *float32, n int, k *adamConsts)
// n is a positive multiple of 4.
TEXT ·adamAVX2(SB), NOSPLIT, $0-48
	LOADARGS
	VBROADCASTSD 0(AX), Y15
	VBROADCASTSD 8(AX), Y14
	VBROADCASTSD 16(AX), Y13
	VBROADCASTSD 24(AX), Y12
	VBROADCASTSD 32(AX), Y11
	VBROADCASTSD 40(AX), Y10
	VBROADCASTSD 48(AX), Y9
	VBROADCASTSD 56(AX), Y8
	VBROADCASTSD 64(AX), Y7

avx2loop:
	VCVTPS2PD (DI), Y0 // wj
	TESTQ     BX, BX
	JZ        avx2nodecay
	VMULPD    Y15, Y0, Y0 // wj·decay, rounded to float32 and back
	VCVTPD2PSY Y0, X0
	VCVTPS2PD X0, Y0

avx2nodecay:
	VMULPD     Y14, Y0, Y1 // l2·wj
	VCVTPS2PD  (SI), Y2
	VADDPD     Y2, Y1, Y1  // g = l2·wj + grad
	VCVTPS2PD  (R8), Y2
	VMULPD     Y13, Y2, Y2 // b1·m
	VMULPD     Y12, Y1, Y3 // c1·g
	VADDPD     Y2, Y3, Y2  // mj = c1·g + b1·m
	VCVTPS2PD  (R9), Y3
	VMULPD     Y11, Y3, Y3 // b2·v
	VMULPD     Y10, Y1, Y4 // c2·g
	VMULPD     Y1, Y4, Y4  // c2·g·g
	VADDPD     Y3, Y4, Y3  // vj = c2·g·g + b2·v
	VCVTPD2PSY Y2, X4
	VMOVUPS    X4, (R8)
	VCVTPD2PSY Y3, X4
	VMOVUPS    X4, (R9)
	VMULPD     Y9, Y2, Y2  // stepSize·mj
	VSQRTPD    Y3, Y3
	VDIVPD     Y8, Y3, Y3  // √vj / bc2sqrt
	VADDPD     Y7, Y3, Y3  // + eps
	VDIVPD     Y3, Y2, Y2  // stepSize·mj / (√vj/bc2sqrt + eps)
	VSUBPD     Y2, Y0, Y0  // wj − that
	VCVTPD2PSY Y0, X0
	VMOVUPS    X0, (DI)
	ADDQ       $16, DI
	ADDQ       $16, SI
	ADDQ       $16, R8
	ADDQ       $16, R9
	SUBQ       $4, CX
	JNZ        avx2loop
	VZEROUPPER
	RET

// func adamAVX512(w, grad, m, v *float32, n int, k *adamConsts)
// n is a positive multiple of 8. The same instructions as adamAVX2 on ZMM registers.
TEXT ·adamAVX512(SB), NOSPLIT, $0-48
	LOADARGS
	VBROADCASTSD 0(AX), Z15
	VBROADCASTSD 8(AX), Z14
	VBROADCASTSD 16(AX), Z13
	VBROADCASTSD 24(AX), Z12
	VBROADCASTSD 32(AX), Z11
	VBROADCASTSD 40(AX), Z10
	VBROADCASTSD 48(AX), Z9
	VBROADCASTSD 56(AX), Z8
	VBROADCASTSD 64(AX), Z7

avx512loop:
	VCVTPS2PD (DI), Z0
	TESTQ     BX, BX
	JZ        avx512nodecay
	VMULPD    Z15, Z0, Z0
	VCVTPD2PS Z0, Y0
	VCVTPS2PD Y0, Z0

avx512nodecay:
	VMULPD    Z14, Z0, Z1
	VCVTPS2PD (SI), Z2
	VADDPD    Z2, Z1, Z1
	VCVTPS2PD (R8), Z2
	VMULPD    Z13, Z2, Z2
	VMULPD    Z12, Z1, Z3
	VADDPD    Z2, Z3, Z2
	VCVTPS2PD (R9), Z3
	VMULPD    Z11, Z3, Z3
	VMULPD    Z10, Z1, Z4
	VMULPD    Z1, Z4, Z4
	VADDPD    Z3, Z4, Z3
	VCVTPD2PS Z2, Y4
	VMOVUPS   Y4, (R8)
	VCVTPD2PS Z3, Y4
	VMOVUPS   Y4, (R9)
	VMULPD    Z9, Z2, Z2
	VSQRTPD   Z3, Z3
	VDIVPD    Z8, Z3, Z3
	VADDPD    Z7, Z3, Z3
	VDIVPD    Z3, Z2, Z2
	VSUBPD    Z2, Z0, Z0
	VCVTPD2PS Z0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $32, DI
	ADDQ      $32, SI
	ADDQ      $32, R8
	ADDQ      $32, R9
	SUBQ      $8, CX
	JNZ       avx512loop
	VZEROUPPER
	RET
