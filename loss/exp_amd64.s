//go:build amd64

#include "textflag.h"

// Polynomial coefficients of Cephes expf, each repeated 8 times (c5, c4, c3, c2, c1, c0).
DATA expPoly<>+0(SB)/4, $0x39506967
DATA expPoly<>+4(SB)/4, $0x39506967
DATA expPoly<>+8(SB)/4, $0x39506967
DATA expPoly<>+12(SB)/4, $0x39506967
DATA expPoly<>+16(SB)/4, $0x39506967
DATA expPoly<>+20(SB)/4, $0x39506967
DATA expPoly<>+24(SB)/4, $0x39506967
DATA expPoly<>+28(SB)/4, $0x39506967
DATA expPoly<>+32(SB)/4, $0x3ab743ce
DATA expPoly<>+36(SB)/4, $0x3ab743ce
DATA expPoly<>+40(SB)/4, $0x3ab743ce
DATA expPoly<>+44(SB)/4, $0x3ab743ce
DATA expPoly<>+48(SB)/4, $0x3ab743ce
DATA expPoly<>+52(SB)/4, $0x3ab743ce
DATA expPoly<>+56(SB)/4, $0x3ab743ce
DATA expPoly<>+60(SB)/4, $0x3ab743ce
DATA expPoly<>+64(SB)/4, $0x3c088908
DATA expPoly<>+68(SB)/4, $0x3c088908
DATA expPoly<>+72(SB)/4, $0x3c088908
DATA expPoly<>+76(SB)/4, $0x3c088908
DATA expPoly<>+80(SB)/4, $0x3c088908
DATA expPoly<>+84(SB)/4, $0x3c088908
DATA expPoly<>+88(SB)/4, $0x3c088908
DATA expPoly<>+92(SB)/4, $0x3c088908
DATA expPoly<>+96(SB)/4, $0x3d2aa9c1
DATA expPoly<>+100(SB)/4, $0x3d2aa9c1
DATA expPoly<>+104(SB)/4, $0x3d2aa9c1
DATA expPoly<>+108(SB)/4, $0x3d2aa9c1
DATA expPoly<>+112(SB)/4, $0x3d2aa9c1
DATA expPoly<>+116(SB)/4, $0x3d2aa9c1
DATA expPoly<>+120(SB)/4, $0x3d2aa9c1
DATA expPoly<>+124(SB)/4, $0x3d2aa9c1
DATA expPoly<>+128(SB)/4, $0x3e2aaaaa
DATA expPoly<>+132(SB)/4, $0x3e2aaaaa
DATA expPoly<>+136(SB)/4, $0x3e2aaaaa
DATA expPoly<>+140(SB)/4, $0x3e2aaaaa
DATA expPoly<>+144(SB)/4, $0x3e2aaaaa
DATA expPoly<>+148(SB)/4, $0x3e2aaaaa
DATA expPoly<>+152(SB)/4, $0x3e2aaaaa
DATA expPoly<>+156(SB)/4, $0x3e2aaaaa
DATA expPoly<>+160(SB)/4, $0x3f000000
DATA expPoly<>+164(SB)/4, $0x3f000000
DATA expPoly<>+168(SB)/4, $0x3f000000
DATA expPoly<>+172(SB)/4, $0x3f000000
DATA expPoly<>+176(SB)/4, $0x3f000000
DATA expPoly<>+180(SB)/4, $0x3f000000
DATA expPoly<>+184(SB)/4, $0x3f000000
DATA expPoly<>+188(SB)/4, $0x3f000000
GLOBL expPoly<>(SB), RODATA|NOPTR, $192

// func expShiftAVX2(v *float32, n int, m, scale float32) float64
//
// v[j] = exp((v[j]-m)*scale) for j < n (n a positive multiple of 8), returning the sum in float64.
// Arguments below -87.33654 give 0; NaN stays NaN; arguments must not exceed 88 (callers pass x <= 0).
TEXT ·expShiftAVX2(SB), NOSPLIT, $0-32
	MOVQ v+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS m+16(FP), Y0
	VBROADCASTSS scale+20(FP), Y1
	MOVL $0xc2aeac4f, AX
	VMOVD AX, X4
	VPBROADCASTD X4, Y4
	MOVL $0x3fb8aa3b, AX
	VMOVD AX, X5
	VPBROADCASTD X5, Y5
	MOVL $0x3f318000, AX
	VMOVD AX, X6
	VPBROADCASTD X6, Y6
	MOVL $0xb95e8083, AX
	VMOVD AX, X7
	VPBROADCASTD X7, Y7
	MOVL $0x3f800000, AX
	VMOVD AX, X8
	VPBROADCASTD X8, Y8
	MOVL $127, AX
	VMOVD AX, X9
	VPBROADCASTD X9, Y9
	VXORPD Y14, Y14, Y14
	VXORPD Y15, Y15, Y15

loop:
	VMOVUPS (DI), Y2
	VSUBPS Y0, Y2, Y2              // v - m
	VMULPS Y1, Y2, Y2              // x
	VCMPPS $1, Y4, Y2, Y3          // mask: x < lo
	VMAXPS Y2, Y4, Y2              // max(lo, x), NaN kept
	VMULPS Y5, Y2, Y10
	VROUNDPS $0, Y10, Y10          // k = round(x*log2e)
	VMOVAPS Y2, Y11
	VFNMADD231PS Y6, Y10, Y11      // r = x - k*ln2hi
	VFNMADD231PS Y7, Y10, Y11      // r -= k*ln2lo
	VMOVUPS expPoly<>+0(SB), Y12
	VFMADD213PS expPoly<>+32(SB), Y11, Y12
	VFMADD213PS expPoly<>+64(SB), Y11, Y12
	VFMADD213PS expPoly<>+96(SB), Y11, Y12
	VFMADD213PS expPoly<>+128(SB), Y11, Y12
	VFMADD213PS expPoly<>+160(SB), Y11, Y12
	VMULPS Y11, Y11, Y13           // r*r
	VFMADD213PS Y11, Y13, Y12      // p*r*r + r
	VADDPS Y8, Y12, Y12            // + 1
	VCVTPS2DQ Y10, Y10
	VPADDD Y9, Y10, Y10
	VPSLLD $23, Y10, Y10           // 2^k
	VMULPS Y10, Y12, Y12
	VANDNPS Y12, Y3, Y12           // 0 where x < lo
	VMOVUPS Y12, (DI)
	VCVTPS2PD X12, Y13
	VADDPD Y13, Y14, Y14
	VEXTRACTF128 $1, Y12, X13
	VCVTPS2PD X13, Y13
	VADDPD Y13, Y15, Y15
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ loop

	VADDPD Y15, Y14, Y14
	VEXTRACTF128 $1, Y14, X15
	VADDPD X15, X14, X14
	VHADDPD X14, X14, X14
	VZEROUPPER
	MOVSD X14, ret+24(FP)
	RET

// func cpuidLoss(eaxIn, ecxIn uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuidLoss(SB), NOSPLIT, $0-24
	MOVL eaxIn+0(FP), AX
	MOVL ecxIn+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbvLoss() (eax, edx uint32)
TEXT ·xgetbvLoss(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET
