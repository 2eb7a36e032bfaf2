#include "textflag.h"

// func cpuid(eaxIn, ecxIn uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxIn+0(FP), AX
	MOVL ecxIn+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET

// Both kernels compute an mr×nr tile of C from k steps of packed A (mr values a step) and of B
// (nr values a step, ldb floats apart: nr for a packed panel, B's row stride were B read in
// place), then add the tile to C (load = true) or overwrite C with it (load = false). They
// prefetch the C tile before the k loop, and A and B a few steps ahead inside it (measured:
// about +6% at 2048³ on one core).

// AVX2 6x16: accumulators Y4..Y15 (row r in Y(4+2r), Y(5+2r)), B in Y0 Y1, A broadcasts in Y2 Y3.
#define ROW6(off, bc, c0, c1) \
	VBROADCASTSS off(SI), bc; \
	VFMADD231PS  Y0, bc, c0; \
	VFMADD231PS  Y1, bc, c1

#define STEP6 \
	VMOVUPS (DI), Y0; \
	VMOVUPS 32(DI), Y1; \
	ROW6(0, Y2, Y4, Y5); \
	ROW6(4, Y3, Y6, Y7); \
	ROW6(8, Y2, Y8, Y9); \
	ROW6(12, Y3, Y10, Y11); \
	ROW6(16, Y2, Y12, Y13); \
	ROW6(20, Y3, Y14, Y15); \
	ADDQ $24, SI; \
	ADDQ R10, DI

#define STORE6(c0, c1) \
	VADDPS  (DX), c0, c0; \
	VMOVUPS c0, (DX); \
	VADDPS  32(DX), c1, c1; \
	VMOVUPS c1, 32(DX); \
	ADDQ    R8, DX

#define SET6(c0, c1) \
	VMOVUPS c0, (DX); \
	VMOVUPS c1, 32(DX); \
	ADDQ    R8, DX

// func kernelAVX2x6x16(k int, a, b *float32, ldb int, c *float32, ldc int, load bool)
TEXT ·kernelAVX2x6x16(SB), NOSPLIT, $0-49
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R10
	SHLQ $2, R10
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	SHLQ $2, R8
	MOVQ DX, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)
	ADDQ R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)
	ADDQ R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)
	ADDQ R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)
	ADDQ R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)
	ADDQ R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	MOVQ CX, BX
	SHRQ $2, BX
	ANDQ $3, CX
	TESTQ BX, BX
	JZ   tail6
loop6:
	PREFETCHT0 384(SI)
	PREFETCHT0 (DI)(R10*4)
	PREFETCHT0 60(DI)(R10*4)
	STEP6
	STEP6
	STEP6
	STEP6
	DECQ BX
	JNZ  loop6
tail6:
	TESTQ CX, CX
	JZ   store6
tailloop6:
	PREFETCHT0 384(SI)
	PREFETCHT0 (DI)(R10*4)
	PREFETCHT0 60(DI)(R10*4)
	STEP6
	DECQ CX
	JNZ  tailloop6
store6:
	MOVBLZX load+48(FP), AX
	TESTL   AX, AX
	JZ      overwrite6
	STORE6(Y4, Y5)
	STORE6(Y6, Y7)
	STORE6(Y8, Y9)
	STORE6(Y10, Y11)
	STORE6(Y12, Y13)
	STORE6(Y14, Y15)
	VZEROUPPER
	RET
overwrite6:
	SET6(Y4, Y5)
	SET6(Y6, Y7)
	SET6(Y8, Y9)
	SET6(Y10, Y11)
	SET6(Y12, Y13)
	SET6(Y14, Y15)
	VZEROUPPER
	RET

// AVX-512 8x48: accumulators Z8..Z31 (row r in Z(8+3r)..Z(10+3r)), B in Z0..Z2, A broadcasts in Z3 Z4.
#define ROW8(off, bc, c0, c1, c2) \
	VBROADCASTSS off(SI), bc; \
	VFMADD231PS  Z0, bc, c0; \
	VFMADD231PS  Z1, bc, c1; \
	VFMADD231PS  Z2, bc, c2

#define STEP8 \
	VMOVUPS (DI), Z0; \
	VMOVUPS 64(DI), Z1; \
	VMOVUPS 128(DI), Z2; \
	ROW8(0, Z3, Z8, Z9, Z10); \
	ROW8(4, Z4, Z11, Z12, Z13); \
	ROW8(8, Z3, Z14, Z15, Z16); \
	ROW8(12, Z4, Z17, Z18, Z19); \
	ROW8(16, Z3, Z20, Z21, Z22); \
	ROW8(20, Z4, Z23, Z24, Z25); \
	ROW8(24, Z3, Z26, Z27, Z28); \
	ROW8(28, Z4, Z29, Z30, Z31); \
	ADDQ $32, SI; \
	ADDQ R10, DI

#define STORE8(c0, c1, c2) \
	VADDPS  (DX), c0, c0; \
	VMOVUPS c0, (DX); \
	VADDPS  64(DX), c1, c1; \
	VMOVUPS c1, 64(DX); \
	VADDPS  128(DX), c2, c2; \
	VMOVUPS c2, 128(DX); \
	ADDQ    R8, DX

#define SET8(c0, c1, c2) \
	VMOVUPS c0, (DX); \
	VMOVUPS c1, 64(DX); \
	VMOVUPS c2, 128(DX); \
	ADDQ    R8, DX

// func kernelAVX512x8x48(k int, a, b *float32, ldb int, c *float32, ldc int, load bool)
TEXT ·kernelAVX512x8x48(SB), NOSPLIT, $0-49
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R10
	SHLQ $2, R10
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	SHLQ $2, R8
	MOVQ DX, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	PREFETCHT0 128(R9)
	ADDQ R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	PREFETCHT0 128(R9)
	ADDQ R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	PREFETCHT0 128(R9)
	ADDQ R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	PREFETCHT0 128(R9)
	ADDQ R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	PREFETCHT0 128(R9)
	ADDQ R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	PREFETCHT0 128(R9)
	ADDQ R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	PREFETCHT0 128(R9)
	ADDQ R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	PREFETCHT0 128(R9)
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
	VPXORD Z27, Z27, Z27
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31
	MOVQ CX, BX
	SHRQ $1, BX
	ANDQ $1, CX
	TESTQ BX, BX
	JZ   tail8
loop8:
	PREFETCHT0 512(SI)
	PREFETCHT0 (DI)(R10*4)
	PREFETCHT0 64(DI)(R10*4)
	PREFETCHT0 128(DI)(R10*4)
	STEP8
	STEP8
	DECQ BX
	JNZ  loop8
tail8:
	TESTQ CX, CX
	JZ   store8
	STEP8
store8:
	MOVBLZX load+48(FP), AX
	TESTL   AX, AX
	JZ      overwrite8
	STORE8(Z8, Z9, Z10)
	STORE8(Z11, Z12, Z13)
	STORE8(Z14, Z15, Z16)
	STORE8(Z17, Z18, Z19)
	STORE8(Z20, Z21, Z22)
	STORE8(Z23, Z24, Z25)
	STORE8(Z26, Z27, Z28)
	STORE8(Z29, Z30, Z31)
	VZEROUPPER
	RET
overwrite8:
	SET8(Z8, Z9, Z10)
	SET8(Z11, Z12, Z13)
	SET8(Z14, Z15, Z16)
	SET8(Z17, Z18, Z19)
	SET8(Z20, Z21, Z22)
	SET8(Z23, Z24, Z25)
	SET8(Z26, Z27, Z28)
	SET8(Z29, Z30, Z31)
	VZEROUPPER
	RET

// AVX-512 8x16 and 8x32: MulPanels' last columns when n is not a multiple of 48 (C = A·B over
// one or two 16-wide vectors of B, A as the 8x48 kernel reads it). Each C value is the same
// chain of fused multiply-adds, in the same order, as the 8x48 kernel computes for its columns.
// 8x16: accumulators Z8..Z15, B in Z0, A broadcasts in Z3 Z4.
#define ROW16(off, bc, c0) \
	VBROADCASTSS off(SI), bc; \
	VFMADD231PS  Z0, bc, c0

#define STEP16 \
	VMOVUPS (DI), Z0; \
	ROW16(0, Z3, Z8); \
	ROW16(4, Z4, Z9); \
	ROW16(8, Z5, Z10); \
	ROW16(12, Z6, Z11); \
	ROW16(16, Z3, Z12); \
	ROW16(20, Z4, Z13); \
	ROW16(24, Z5, Z14); \
	ROW16(28, Z6, Z15); \
	ADDQ $32, SI; \
	ADDQ R10, DI

#define STORE16(c0) \
	VADDPS  (DX), c0, c0; \
	VMOVUPS c0, (DX); \
	ADDQ    R8, DX

#define SET16(c0) \
	VMOVUPS c0, (DX); \
	ADDQ    R8, DX

// func kernelAVX512x8x16(k int, a, b *float32, ldb int, c *float32, ldc int, load bool)
TEXT ·kernelAVX512x8x16(SB), NOSPLIT, $0-49
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R10
	SHLQ $2, R10
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	SHLQ $2, R8
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
loop16:
	STEP16
	DECQ CX
	JNZ  loop16
	MOVBLZX load+48(FP), AX
	TESTL   AX, AX
	JZ      overwrite16
	STORE16(Z8)
	STORE16(Z9)
	STORE16(Z10)
	STORE16(Z11)
	STORE16(Z12)
	STORE16(Z13)
	STORE16(Z14)
	STORE16(Z15)
	VZEROUPPER
	RET
overwrite16:
	SET16(Z8)
	SET16(Z9)
	SET16(Z10)
	SET16(Z11)
	SET16(Z12)
	SET16(Z13)
	SET16(Z14)
	SET16(Z15)
	VZEROUPPER
	RET

// 8x32: accumulators Z8..Z23 (row r in Z(8+2r), Z(9+2r)), B in Z0 Z1, A broadcasts in Z3..Z6.
#define ROW32(off, bc, c0, c1) \
	VBROADCASTSS off(SI), bc; \
	VFMADD231PS  Z0, bc, c0; \
	VFMADD231PS  Z1, bc, c1

#define STEP32 \
	VMOVUPS (DI), Z0; \
	VMOVUPS 64(DI), Z1; \
	ROW32(0, Z3, Z8, Z9); \
	ROW32(4, Z4, Z10, Z11); \
	ROW32(8, Z5, Z12, Z13); \
	ROW32(12, Z6, Z14, Z15); \
	ROW32(16, Z3, Z16, Z17); \
	ROW32(20, Z4, Z18, Z19); \
	ROW32(24, Z5, Z20, Z21); \
	ROW32(28, Z6, Z22, Z23); \
	ADDQ $32, SI; \
	ADDQ R10, DI

#define STORE32(c0, c1) \
	VADDPS  (DX), c0, c0; \
	VMOVUPS c0, (DX); \
	VADDPS  64(DX), c1, c1; \
	VMOVUPS c1, 64(DX); \
	ADDQ    R8, DX

#define SET32(c0, c1) \
	VMOVUPS c0, (DX); \
	VMOVUPS c1, 64(DX); \
	ADDQ    R8, DX

// func kernelAVX512x8x32(k int, a, b *float32, ldb int, c *float32, ldc int, load bool)
TEXT ·kernelAVX512x8x32(SB), NOSPLIT, $0-49
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R10
	SHLQ $2, R10
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	SHLQ $2, R8
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
loop32:
	STEP32
	DECQ CX
	JNZ  loop32
	MOVBLZX load+48(FP), AX
	TESTL   AX, AX
	JZ      overwrite32
	STORE32(Z8, Z9)
	STORE32(Z10, Z11)
	STORE32(Z12, Z13)
	STORE32(Z14, Z15)
	STORE32(Z16, Z17)
	STORE32(Z18, Z19)
	STORE32(Z20, Z21)
	STORE32(Z22, Z23)
	VZEROUPPER
	RET
overwrite32:
	SET32(Z8, Z9)
	SET32(Z10, Z11)
	SET32(Z12, Z13)
	SET32(Z14, Z15)
	SET32(Z16, Z17)
	SET32(Z18, Z19)
	SET32(Z20, Z21)
	SET32(Z22, Z23)
	VZEROUPPER
	RET
