#include "textflag.h"

// AVX2+FMA kernels for vec.go's functions. Each handles n elements, n a positive multiple of 8;
// the Go side does the rest. Operands are in Go assembler order (sources first, destination
// last): VSUBPS Y15, Y2, Y2 is Y2 = Y2 − Y15 and VFMADD231PS Y2, Y3, Y0 is Y0 += Y3·Y2.

// REDUCE leaves the sum of Y's eight lanes in the low lane of its X register (clobbers tmp).
#define REDUCE(Y, X, tmpX) \
	VEXTRACTF128 $1, Y, tmpX; \
	VADDPS       tmpX, X, X; \
	VPERMILPS    $0x0e, X, tmpX; \
	VADDPS       tmpX, X, X; \
	VPERMILPS    $0x01, X, tmpX; \
	VADDSS       tmpX, X, X

// func sumAsm(x *float32, n int, mu float32, sq bool) float32
// Σ x, or Σ (x − mu)² when sq; two accumulators of eight lanes.
TEXT ·sumAsm(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS mu+16(FP), Y15
	MOVBLZX      sq+20(FP), AX
	VXORPS       Y0, Y0, Y0
	VXORPS       Y1, Y1, Y1
	TESTQ        AX, AX
	JNZ          sq16

sum16:
	CMPQ   CX, $16
	JLT    sum8
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	ADDQ   $64, SI
	SUBQ   $16, CX
	JMP    sum16

sum8:
	CMPQ   CX, $8
	JLT    sumdone
	VADDPS (SI), Y0, Y0
	JMP    sumdone

sq16:
	CMPQ        CX, $16
	JLT         sq8
	VMOVUPS     (SI), Y2
	VMOVUPS     32(SI), Y3
	VSUBPS      Y15, Y2, Y2
	VSUBPS      Y15, Y3, Y3
	VFMADD231PS Y2, Y2, Y0
	VFMADD231PS Y3, Y3, Y1
	ADDQ        $64, SI
	SUBQ        $16, CX
	JMP         sq16

sq8:
	CMPQ        CX, $8
	JLT         sumdone
	VMOVUPS     (SI), Y2
	VSUBPS      Y15, Y2, Y2
	VFMADD231PS Y2, Y2, Y0

sumdone:
	VADDPS Y1, Y0, Y0
	REDUCE(Y0, X0, X1)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func affineAsm(y, x *float32, n int, a, mu, b float32, relu bool)
// y = a·(x − mu) + b, then max(0, ·) when relu. The max keeps a NaN (VMAXPS returns its second
// source, the value, when either is NaN), so a diverging network still shows NaN downstream.
TEXT ·affineAsm(SB), NOSPLIT, $0-37
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Y13
	VBROADCASTSS mu+28(FP), Y14
	VBROADCASTSS b+32(FP), Y15
	VXORPS       Y12, Y12, Y12
	MOVBLZX      relu+36(FP), AX

affloop:
	VMOVUPS     (SI), Y0
	VSUBPS      Y14, Y0, Y0
	VMOVAPS     Y15, Y1
	VFMADD231PS Y0, Y13, Y1
	TESTQ       AX, AX
	JZ          affstore
	VMAXPS      Y1, Y12, Y1

affstore:
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     affloop
	VZEROUPPER
	RET

// RELUMASK zeroes the lanes of g where ra·d + rb ≤ 0 (d = x − mu), computed as affineAsm computes
// a BatchNorm+ReLU output, so that the mask matches the forward pass exactly.
#define RELUMASK(d, g, t) \
	VMOVAPS     Y13, t; \
	VFMADD231PS d, Y12, t; \
	VCMPPS      $0x1e, Y14, t, t; \
	VANDPS      t, g, g

// func sumProdDevAsm(gr, x *float32, n int, mu, ra, rb float32, mask bool) (sg, sgd float32)
// Σ g' and Σ g'·(x − mu), g' = g with the lanes where ra·(x − mu) + rb ≤ 0 zeroed when mask, else
// g; accumulators Y0 Y1 (sg) and Y2 Y3 (sgd), sixteen elements a step. Y12 ra, Y13 rb, Y14 0,
// Y15 mu.
TEXT ·sumProdDevAsm(SB), NOSPLIT, $0-48
	MOVQ         gr+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS mu+24(FP), Y15
	VBROADCASTSS ra+28(FP), Y12
	VBROADCASTSS rb+32(FP), Y13
	MOVBLZX      mask+36(FP), AX
	VXORPS       Y14, Y14, Y14
	VXORPS       Y0, Y0, Y0
	VXORPS       Y1, Y1, Y1
	VXORPS       Y2, Y2, Y2
	VXORPS       Y3, Y3, Y3

spd16:
	CMPQ    CX, $16
	JLT     spd8
	VMOVUPS (DI), Y6
	VMOVUPS 32(DI), Y7
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	VSUBPS  Y15, Y8, Y8
	VSUBPS  Y15, Y9, Y9
	TESTQ   AX, AX
	JZ      spd16nomask
	RELUMASK(Y8, Y6, Y4)
	RELUMASK(Y9, Y7, Y5)

spd16nomask:
	VADDPS      Y6, Y0, Y0
	VADDPS      Y7, Y1, Y1
	VFMADD231PS Y8, Y6, Y2
	VFMADD231PS Y9, Y7, Y3
	ADDQ        $64, DI
	ADDQ        $64, SI
	SUBQ        $16, CX
	JMP         spd16

spd8:
	CMPQ    CX, $8
	JLT     spddone
	VMOVUPS (DI), Y6
	VMOVUPS (SI), Y8
	VSUBPS  Y15, Y8, Y8
	TESTQ   AX, AX
	JZ      spd8nomask
	RELUMASK(Y8, Y6, Y4)

spd8nomask:
	VADDPS      Y6, Y0, Y0
	VFMADD231PS Y8, Y6, Y2

spddone:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	REDUCE(Y0, X0, X1)
	REDUCE(Y2, X2, X3)
	VMOVSS X0, sg+40(FP)
	VMOVSS X2, sgd+44(FP)
	VZEROUPPER
	RET

// func linCombAsm(dst, gr, x *float32, n int, a, b, mu, k, ra, rb float32, mask, acc bool)
// dst = k + b·(x − mu) + a·g' (+ dst when acc), g' as in sumProdDevAsm.
// Y10 a, Y11 b, Y12 ra, Y13 rb, Y14 0, Y15 mu, Y9 k.
TEXT ·linCombAsm(SB), NOSPLIT, $0-58
	MOVQ         dst+0(FP), DI
	MOVQ         gr+8(FP), BX
	MOVQ         x+16(FP), SI
	MOVQ         n+24(FP), CX
	VBROADCASTSS a+32(FP), Y10
	VBROADCASTSS b+36(FP), Y11
	VBROADCASTSS mu+40(FP), Y15
	VBROADCASTSS k+44(FP), Y9
	VBROADCASTSS ra+48(FP), Y12
	VBROADCASTSS rb+52(FP), Y13
	MOVBLZX      mask+56(FP), DX
	MOVBLZX      acc+57(FP), AX
	VXORPS       Y14, Y14, Y14

lcloop:
	VMOVUPS     (SI), Y0
	VSUBPS      Y15, Y0, Y0
	VMOVAPS     Y9, Y1
	VFMADD231PS Y0, Y11, Y1
	VMOVUPS     (BX), Y2
	TESTQ       DX, DX
	JZ          lcnomask
	RELUMASK(Y0, Y2, Y3)

lcnomask:
	VFMADD231PS Y2, Y10, Y1
	TESTQ       AX, AX
	JZ          lcstore
	VADDPS      (DI), Y1, Y1

lcstore:
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, BX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     lcloop
	VZEROUPPER
	RET

// func addPositiveAsm(dst, gr, x *float32, n int)
// dst += g where x > 0 (NaN x adds nothing), eight values a step.
TEXT ·addPositiveAsm(SB), NOSPLIT, $0-32
	MOVQ   dst+0(FP), DI
	MOVQ   gr+8(FP), BX
	MOVQ   x+16(FP), SI
	MOVQ   n+24(FP), CX
	VXORPS Y15, Y15, Y15

aploop:
	VMOVUPS (SI), Y0
	VCMPPS  $0x1e, Y15, Y0, Y1
	VANDPS  (BX), Y1, Y2
	VADDPS  (DI), Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ    $32, SI
	ADDQ    $32, BX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     aploop
	VZEROUPPER
	RET

// func selectPositiveAsm(dst, gr, x *float32, n int)
// dst = g where x > 0, else 0 (NaN x gives 0), eight values a step.
TEXT ·selectPositiveAsm(SB), NOSPLIT, $0-32
	MOVQ   dst+0(FP), DI
	MOVQ   gr+8(FP), BX
	MOVQ   x+16(FP), SI
	MOVQ   n+24(FP), CX
	VXORPS Y15, Y15, Y15

sploop:
	VMOVUPS (SI), Y0
	VCMPPS  $0x1e, Y15, Y0, Y1
	VANDPS  (BX), Y1, Y2
	VMOVUPS Y2, (DI)
	ADDQ    $32, SI
	ADDQ    $32, BX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     sploop
	VZEROUPPER
	RET

// func affineAddReLUAsm(y, x, s *float32, n int, a, mu, b float32)
// y = max(0, (a·(x − mu) + b) + s): affineAsm's value plus s, rounded as the two ops in sequence
// (a BatchNorm, then a residual sum and ReLU); the max keeps a NaN as affineAsm's does.
TEXT ·affineAddReLUAsm(SB), NOSPLIT, $0-44
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         s+16(FP), BX
	MOVQ         n+24(FP), CX
	VBROADCASTSS a+32(FP), Y13
	VBROADCASTSS mu+36(FP), Y14
	VBROADCASTSS b+40(FP), Y15
	VXORPS       Y12, Y12, Y12

aarloop:
	VMOVUPS     (SI), Y0
	VSUBPS      Y14, Y0, Y0
	VMOVAPS     Y15, Y1
	VFMADD231PS Y0, Y13, Y1
	VADDPS      (BX), Y1, Y1
	VMAXPS      Y1, Y12, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, BX
	ADDQ        $32, DI
	SUBQ        $8, CX
	JNZ         aarloop
	VZEROUPPER
	RET

// func selectSumProdDevAsm(dst, gr, z, x *float32, n int, mu float32) (sg, sgd float32)
// dst = g where z > 0, else 0 (selectPositiveAsm), and Σ dst, Σ dst·(x − mu) summed as
// sumProdDevAsm sums them without a mask, in one pass. Y14 0, Y15 mu.
TEXT ·selectSumProdDevAsm(SB), NOSPLIT, $0-56
	MOVQ         dst+0(FP), R8
	MOVQ         gr+8(FP), DI
	MOVQ         z+16(FP), BX
	MOVQ         x+24(FP), SI
	MOVQ         n+32(FP), CX
	VBROADCASTSS mu+40(FP), Y15
	VXORPS       Y14, Y14, Y14
	VXORPS       Y0, Y0, Y0
	VXORPS       Y1, Y1, Y1
	VXORPS       Y2, Y2, Y2
	VXORPS       Y3, Y3, Y3

sspd16:
	CMPQ        CX, $16
	JLT         sspd8
	VMOVUPS     (BX), Y4
	VMOVUPS     32(BX), Y5
	VCMPPS      $0x1e, Y14, Y4, Y4
	VCMPPS      $0x1e, Y14, Y5, Y5
	VANDPS      (DI), Y4, Y6
	VANDPS      32(DI), Y5, Y7
	VMOVUPS     Y6, (R8)
	VMOVUPS     Y7, 32(R8)
	VMOVUPS     (SI), Y8
	VMOVUPS     32(SI), Y9
	VSUBPS      Y15, Y8, Y8
	VSUBPS      Y15, Y9, Y9
	VADDPS      Y6, Y0, Y0
	VADDPS      Y7, Y1, Y1
	VFMADD231PS Y8, Y6, Y2
	VFMADD231PS Y9, Y7, Y3
	ADDQ        $64, R8
	ADDQ        $64, DI
	ADDQ        $64, BX
	ADDQ        $64, SI
	SUBQ        $16, CX
	JMP         sspd16

sspd8:
	CMPQ        CX, $8
	JLT         sspddone
	VMOVUPS     (BX), Y4
	VCMPPS      $0x1e, Y14, Y4, Y4
	VANDPS      (DI), Y4, Y6
	VMOVUPS     Y6, (R8)
	VMOVUPS     (SI), Y8
	VSUBPS      Y15, Y8, Y8
	VADDPS      Y6, Y0, Y0
	VFMADD231PS Y8, Y6, Y2

sspddone:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	REDUCE(Y0, X0, X1)
	REDUCE(Y2, X2, X3)
	VMOVSS X0, sg+48(FP)
	VMOVSS X2, sgd+52(FP)
	VZEROUPPER
	RET
