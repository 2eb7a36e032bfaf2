#include "textflag.h"

// col2im3x3s2 for one channel (see col2im_amd64.go). For eight j from J: e = b (+ b0) and
// o = c + a (+ (c0 + a0)); VUNPCKLPS / VUNPCKHPS interleave them within each 128-bit lane,
// [e0 o0 e1 o1 | e4 o4 e5 o5] and [e2 o2 e3 o3 | e6 o6 e7 o7], and VPERM2F128 $0x20 / $0x31
// put the lanes in order: d[2J .. 2J+7] and d[2J+8 .. 2J+15]. R0, R1 receive d plus those,
// ready to store. The four-j forms need no lane fix-up.
//
// Registers: DI d (the dst row), SI b, DX c, R8 a (advanced by one value), R9 b0, R10 c0,
// R11 a0 (advanced by one value), CX m, BX the last group's j, AX j; R12 tap row 0 at the output
// row oy, R13 the dst row iy, R14 ld in bytes.

#define EVEN8(J, R0, R1) \
	VMOVUPS    (SI)(J*4), Y0; \
	VMOVUPS    (DX)(J*4), Y1; \
	VADDPS     (R8)(J*4), Y1, Y1; \
	VUNPCKLPS  Y1, Y0, Y2; \
	VUNPCKHPS  Y1, Y0, Y3; \
	VPERM2F128 $0x20, Y3, Y2, Y0; \
	VPERM2F128 $0x31, Y3, Y2, Y1; \
	VADDPS     (R15)(J*8), Y0, R0; \
	VADDPS     32(R15)(J*8), Y1, R1

#define ODD8(J, R0, R1) \
	VMOVUPS    (SI)(J*4), Y0; \
	VADDPS     (R9)(J*4), Y0, Y0; \
	VMOVUPS    (DX)(J*4), Y1; \
	VADDPS     (R8)(J*4), Y1, Y1; \
	VMOVUPS    (R10)(J*4), Y2; \
	VADDPS     (R11)(J*4), Y2, Y2; \
	VADDPS     Y2, Y1, Y1; \
	VUNPCKLPS  Y1, Y0, Y2; \
	VUNPCKHPS  Y1, Y0, Y3; \
	VPERM2F128 $0x20, Y3, Y2, Y0; \
	VPERM2F128 $0x31, Y3, Y2, Y1; \
	VADDPS     (R15)(J*8), Y0, R0; \
	VADDPS     32(R15)(J*8), Y1, R1

#define EVEN4(J, R0, R1) \
	VMOVUPS   (SI)(J*4), X0; \
	VMOVUPS   (DX)(J*4), X1; \
	VADDPS    (R8)(J*4), X1, X1; \
	VUNPCKLPS X1, X0, X2; \
	VUNPCKHPS X1, X0, X3; \
	VADDPS    (R15)(J*8), X2, R0; \
	VADDPS    16(R15)(J*8), X3, R1

#define ODD4(J, R0, R1) \
	VMOVUPS   (SI)(J*4), X0; \
	VADDPS    (R9)(J*4), X0, X0; \
	VMOVUPS   (DX)(J*4), X1; \
	VADDPS    (R8)(J*4), X1, X1; \
	VMOVUPS   (R10)(J*4), X2; \
	VADDPS    (R11)(J*4), X2, X2; \
	VADDPS    X2, X1, X1; \
	VUNPCKLPS X1, X0, X2; \
	VUNPCKHPS X1, X0, X3; \
	VADDPS    (R15)(J*8), X2, R0; \
	VADDPS    16(R15)(J*8), X3, R1

// func col2imS2PlaneAsm(d, s *float32, ld, h, w, wo, m int, zero *float32)
//
// With zero non-nil (w floats of 0), each row's sums are added to zeros instead of to d, which
// is then written without being read: d = 0 + the sums, the bits of clearing d first.
// Row by row as in col2im3x3s2. Along a row, the last group of j (j = m−8, or m−4 below m = 8)
// is summed first, from d as it is; the groups from j = 0 up to below it follow, and the last
// group is stored after them: values the two share are written twice but added once. Then the
// edge columns 2m and, for an even w, 2m+1.
TEXT ·col2imS2PlaneAsm(SB), NOSPLIT, $0-64
	MOVQ d+0(FP), DI
	MOVQ zero+56(FP), R15   // the rows read back: zeros, or d's own (R15 follows DI)
	TESTQ R15, R15
	JNZ  start
	MOVQ DI, R15

start:
	MOVQ s+8(FP), R12
	MOVQ ld+16(FP), R14
	SHLQ $2, R14
	MOVQ m+48(FP), CX
	XORQ R13, R13

row:
	CMPQ  R13, h+24(FP)
	JGE   done
	LEAQ  (R14)(R14*2), BX
	TESTQ $1, R13
	JNZ   oddrow
	LEAQ  (R12)(BX*1), R8   // even iy: tap row 1 at oy
	JMP   evenrow

oddrow:
	LEAQ (R12)(BX*2), R8    // odd iy: tap row 2 at oy
	LEAQ 1(R13), AX
	CMPQ AX, h+24(FP)
	JGE  evenrow            // the last row of an even h: no tap row 0 at oy+1
	MOVQ wo+40(FP), AX
	LEAQ (R12)(AX*4), R11   // tap row 0 at oy+1
	LEAQ (R11)(R14*1), R9
	LEAQ (R11)(R14*2), R10
	ADDQ $4, R11
	LEAQ (R8)(R14*1), SI
	LEAQ (R8)(R14*2), DX
	ADDQ $4, R8
	XORQ AX, AX
	CMPQ CX, $8
	JLT  odd4
	LEAQ -8(CX), BX
	ODD8(BX, Y8, Y9)
	CMPQ AX, BX
	JGE  odd8last

odd8loop:
	ODD8(AX, Y4, Y5)
	VMOVUPS Y4, (DI)(AX*8)
	VMOVUPS Y5, 32(DI)(AX*8)
	ADDQ    $8, AX
	CMPQ    AX, BX
	JLT     odd8loop

odd8last:
	VMOVUPS Y8, (DI)(BX*8)
	VMOVUPS Y9, 32(DI)(BX*8)
	JMP     oddedge

odd4:
	LEAQ -4(CX), BX
	ODD4(BX, X8, X9)
	CMPQ AX, BX
	JGE  odd4last

odd4loop:
	ODD4(AX, X4, X5)
	VMOVUPS X4, (DI)(AX*8)
	VMOVUPS X5, 16(DI)(AX*8)
	ADDQ    $4, AX
	CMPQ    AX, BX
	JLT     odd4loop

odd4last:
	VMOVUPS X8, (DI)(BX*8)
	VMOVUPS X9, 16(DI)(BX*8)

oddedge:
	// d[2m] += b[m] + b0[m]; for an even w, d[2m+1] += c[m] + c0[m].
	VMOVSS (SI)(CX*4), X0
	VADDSS (R9)(CX*4), X0, X0
	VADDSS (R15)(CX*8), X0, X0
	VMOVSS X0, (DI)(CX*8)
	MOVQ   w+32(FP), AX
	TESTQ  $1, AX
	JNZ    next
	VMOVSS (DX)(CX*4), X0
	VADDSS (R10)(CX*4), X0, X0
	VADDSS 4(R15)(CX*8), X0, X0
	VMOVSS X0, 4(DI)(CX*8)
	JMP    next

evenrow:
	LEAQ (R8)(R14*1), SI
	LEAQ (R8)(R14*2), DX
	ADDQ $4, R8
	XORQ AX, AX
	CMPQ CX, $8
	JLT  even4
	LEAQ -8(CX), BX
	EVEN8(BX, Y8, Y9)
	CMPQ AX, BX
	JGE  even8last

even8loop:
	EVEN8(AX, Y4, Y5)
	VMOVUPS Y4, (DI)(AX*8)
	VMOVUPS Y5, 32(DI)(AX*8)
	ADDQ    $8, AX
	CMPQ    AX, BX
	JLT     even8loop

even8last:
	VMOVUPS Y8, (DI)(BX*8)
	VMOVUPS Y9, 32(DI)(BX*8)
	JMP     evenedge

even4:
	LEAQ -4(CX), BX
	EVEN4(BX, X8, X9)
	CMPQ AX, BX
	JGE  even4last

even4loop:
	EVEN4(AX, X4, X5)
	VMOVUPS X4, (DI)(AX*8)
	VMOVUPS X5, 16(DI)(AX*8)
	ADDQ    $4, AX
	CMPQ    AX, BX
	JLT     even4loop

even4last:
	VMOVUPS X8, (DI)(BX*8)
	VMOVUPS X9, 16(DI)(BX*8)

evenedge:
	// d[2m] += b[m]; for an even w, d[2m+1] += c[m].
	VMOVSS (SI)(CX*4), X0
	VADDSS (R15)(CX*8), X0, X0
	VMOVSS X0, (DI)(CX*8)
	MOVQ   w+32(FP), AX
	TESTQ  $1, AX
	JNZ    next
	VMOVSS (DX)(CX*4), X0
	VADDSS 4(R15)(CX*8), X0, X0
	VMOVSS X0, 4(DI)(CX*8)

next:
	MOVQ  w+32(FP), AX
	LEAQ  (DI)(AX*4), DI
	CMPQ  zero+56(FP), $0
	JNE   advanced
	MOVQ  DI, R15

advanced:
	TESTQ $1, R13
	JZ    nextrow
	MOVQ  wo+40(FP), AX     // after an odd row, the next output row
	LEAQ  (R12)(AX*4), R12

nextrow:
	INCQ R13
	JMP  row

done:
	VZEROUPPER
	RET

// col2im3x3s1 for one channel (see col2im_amd64.go). Along a row, index j = 0, 1, … counts the
// interior columns ix = j+1 of d, which take a[j+2] + b[j+1] + c[j] from each tap row (a, b, c)
// = (kx = 0, 1, 2) that reaches the row; the first and last columns are summed one at a time.
//
// S1TAP1 sums one tap row into the columns from J on, (a + b) + c, and adds d: the boundary rows'
// order, one tap row after another (SI a, DX b, R8 c). S1TAP3 sums the three tap rows of an
// interior row in col2imRowS1x3's order, ((a0 + b0) + (c0 + a1)) + ((b1 + c1) + (a2 + b2)) + c2,
// then adds d (SI, DX, R8 tap row 0 at oy = iy+1; R9, R10, R11 tap row 1 at oy = iy; R12, R13,
// R14 tap row 2 at oy = iy−1). Both leave the sum in VR, ready to store; DI is the dst row.

#define S1TAP1(J, V0, VR) \
	VMOVUPS 8(SI)(J*4), V0; \
	VADDPS  4(DX)(J*4), V0, V0; \
	VADDPS  (R8)(J*4), V0, V0; \
	VADDPS  4(DI)(J*4), V0, VR

#define S1TAP3(J, V0, V1, V2, VR) \
	VMOVUPS 8(SI)(J*4), V0; \
	VADDPS  4(DX)(J*4), V0, V0; \
	VMOVUPS (R8)(J*4), V1; \
	VADDPS  8(R9)(J*4), V1, V1; \
	VADDPS  V1, V0, V0; \
	VMOVUPS 4(R10)(J*4), V1; \
	VADDPS  (R11)(J*4), V1, V1; \
	VMOVUPS 8(R12)(J*4), V2; \
	VADDPS  4(R13)(J*4), V2, V2; \
	VADDPS  V2, V1, V1; \
	VADDPS  V1, V0, V0; \
	VADDPS  (R14)(J*4), V0, V0; \
	VADDPS  4(DI)(J*4), V0, VR

// func col2imS1PlaneAsm(d, s *float32, ld, h, w int)
//
// The first row, then the interior rows, then the last row, as in col2im3x3s1. The m = w−2
// interior columns of a row go eight at a time (four when m < 8): the last group (j = m−8, or
// m−4) is summed first, from d as it is; the groups from j = 0 up to below it follow, and the
// last group is stored after them: values the two share are written twice but added once.
//
// The first and last rows take their tap rows one after another, ky from K to 2 (first row: K = 0,
// or 1 when h = 1; last row: K = 1) with ky = 0 ending at 1: at edge, R9 is tap row 3·ky at
// output row iy+1−ky, CX the tap rows left, R11 = 3·ld − w in bytes the step to the next, and
// R10 says what follows: 0 the interior rows, 1 the end.
TEXT ·col2imS1PlaneAsm(SB), NOSPLIT, $0-40
	MOVQ d+0(FP), DI
	MOVQ s+8(FP), R12
	MOVQ ld+16(FP), R14
	SHLQ $2, R14            // ld in bytes
	MOVQ w+32(FP), R13
	SHLQ $2, R13            // w in bytes
	LEAQ (R14)(R14*2), R11
	SUBQ R13, R11           // from tap row 3·ky at oy to tap row 3·(ky+1) at oy−1
	XORQ R10, R10
	LEAQ (R12)(R13*1), R9   // tap row 0 at oy = 1
	MOVQ $2, CX
	CMPQ h+24(FP), $1
	JGT  edge
	ADDQ R11, R9            // h = 1: tap row 3 at oy = 0 only, and nothing after
	MOVQ $1, CX
	MOVQ $1, R10

edge:
	MOVQ R9, SI
	LEAQ (R9)(R14*1), DX
	LEAQ (R9)(R14*2), R8

	// d[0] += a[1] + b[0]; d[w−1] += b[w−1] + c[w−2].
	VMOVSS 4(SI), X0
	VADDSS (DX), X0, X0
	VADDSS (DI), X0, X0
	VMOVSS X0, (DI)
	VMOVSS -4(DX)(R13*1), X0
	VADDSS -8(R8)(R13*1), X0, X0
	VADDSS -4(DI)(R13*1), X0, X0
	VMOVSS X0, -4(DI)(R13*1)

	XORQ AX, AX
	MOVQ w+32(FP), BX
	SUBQ $10, BX
	JLT  edge4
	S1TAP1(BX, Y0, Y8)
	CMPQ AX, BX
	JGE  edge8last

edge8loop:
	S1TAP1(AX, Y0, Y0)
	VMOVUPS Y0, 4(DI)(AX*4)
	ADDQ    $8, AX
	CMPQ    AX, BX
	JLT     edge8loop

edge8last:
	VMOVUPS Y8, 4(DI)(BX*4)
	JMP     edgenext

edge4:
	ADDQ $4, BX
	S1TAP1(BX, X0, X8)
	CMPQ AX, BX
	JGE  edge4last

edge4loop:
	S1TAP1(AX, X0, X0)
	VMOVUPS X0, 4(DI)(AX*4)
	ADDQ    $4, AX
	CMPQ    AX, BX
	JLT     edge4loop

edge4last:
	VMOVUPS X8, 4(DI)(BX*4)

edgenext:
	ADDQ  R11, R9
	DECQ  CX
	JNZ   edge
	TESTQ R10, R10
	JNZ   done

	// The interior rows iy = 1 … h−2.
	ADDQ R13, DI
	MOVQ h+24(FP), CX
	SUBQ $2, CX
	JLE  last
	LEAQ (R12)(R13*2), SI   // tap row 0 at oy = 2
	LEAQ (SI)(R14*1), DX
	LEAQ (SI)(R14*2), R8
	LEAQ (R14)(R14*2), AX
	LEAQ (R12)(AX*1), R9
	ADDQ R13, R9            // tap row 3 at oy = 1
	LEAQ (R9)(R14*1), R10
	LEAQ (R9)(R14*2), R11
	LEAQ (R12)(AX*2), R12   // tap row 6 at oy = 0
	LEAQ (R12)(R14*1), R13
	LEAQ (R12)(R14*2), R14

inrow:
	// d[0] += ((a0[1] + b0[0]) + (a1[1] + b1[0])) + (a2[1] + b2[0]).
	VMOVSS 4(SI), X0
	VADDSS (DX), X0, X0
	VMOVSS 4(R9), X1
	VADDSS (R10), X1, X1
	VADDSS X1, X0, X0
	VMOVSS 4(R12), X1
	VADDSS (R13), X1, X1
	VADDSS X1, X0, X0
	VADDSS (DI), X0, X0
	VMOVSS X0, (DI)

	// d[w−1] += ((b0[w−1] + c0[w−2]) + (b1[w−1] + c1[w−2])) + (b2[w−1] + c2[w−2]).
	MOVQ   w+32(FP), AX
	VMOVSS -4(DX)(AX*4), X0
	VADDSS -8(R8)(AX*4), X0, X0
	VMOVSS -4(R10)(AX*4), X1
	VADDSS -8(R11)(AX*4), X1, X1
	VADDSS X1, X0, X0
	VMOVSS -4(R13)(AX*4), X1
	VADDSS -8(R14)(AX*4), X1, X1
	VADDSS X1, X0, X0
	VADDSS -4(DI)(AX*4), X0, X0
	VMOVSS X0, -4(DI)(AX*4)

	LEAQ -10(AX), BX
	XORQ AX, AX
	CMPQ BX, $0
	JLT  in4
	S1TAP3(BX, Y0, Y1, Y2, Y8)
	CMPQ AX, BX
	JGE  in8last

in8loop:
	S1TAP3(AX, Y0, Y1, Y2, Y0)
	VMOVUPS Y0, 4(DI)(AX*4)
	ADDQ    $8, AX
	CMPQ    AX, BX
	JLT     in8loop

in8last:
	VMOVUPS Y8, 4(DI)(BX*4)
	JMP     innext

in4:
	ADDQ $4, BX
	S1TAP3(BX, X0, X1, X2, X8)
	CMPQ AX, BX
	JGE  in4last

in4loop:
	S1TAP3(AX, X0, X1, X2, X0)
	VMOVUPS X0, 4(DI)(AX*4)
	ADDQ    $4, AX
	CMPQ    AX, BX
	JLT     in4loop

in4last:
	VMOVUPS X8, 4(DI)(BX*4)

innext:
	MOVQ w+32(FP), AX
	SHLQ $2, AX
	ADDQ AX, DI
	ADDQ AX, SI
	ADDQ AX, DX
	ADDQ AX, R8
	ADDQ AX, R9
	ADDQ AX, R10
	ADDQ AX, R11
	ADDQ AX, R12
	ADDQ AX, R13
	ADDQ AX, R14
	DECQ CX
	JNZ  inrow

last:
	// The last row iy = h−1 (DI): tap row 3 at oy = h−1, then tap row 6 at oy = h−2.
	MOVQ s+8(FP), R12
	MOVQ ld+16(FP), R14
	SHLQ $2, R14
	MOVQ w+32(FP), R13
	SHLQ $2, R13
	LEAQ (R14)(R14*2), R11
	MOVQ DI, R9
	SUBQ d+0(FP), R9        // (h−1)·w in bytes
	ADDQ R12, R9
	ADDQ R11, R9
	SUBQ R13, R11
	MOVQ $2, CX
	MOVQ $1, R10
	JMP  edge

done:
	VZEROUPPER
	RET
