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
	VADDPS     (DI)(J*8), Y0, R0; \
	VADDPS     32(DI)(J*8), Y1, R1

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
	VADDPS     (DI)(J*8), Y0, R0; \
	VADDPS     32(DI)(J*8), Y1, R1

#define EVEN4(J, R0, R1) \
	VMOVUPS   (SI)(J*4), X0; \
	VMOVUPS   (DX)(J*4), X1; \
	VADDPS    (R8)(J*4), X1, X1; \
	VUNPCKLPS X1, X0, X2; \
	VUNPCKHPS X1, X0, X3; \
	VADDPS    (DI)(J*8), X2, R0; \
	VADDPS    16(DI)(J*8), X3, R1

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
	VADDPS    (DI)(J*8), X2, R0; \
	VADDPS    16(DI)(J*8), X3, R1

// func col2imS2PlaneAsm(d, s *float32, ld, h, w, wo, m int)
//
// Row by row as in col2im3x3s2. Along a row, the last group of j (j = m−8, or m−4 below m = 8)
// is summed first, from d as it is; the groups from j = 0 up to below it follow, and the last
// group is stored after them: values the two share are written twice but added once. Then the
// edge columns 2m and, for an even w, 2m+1.
TEXT ·col2imS2PlaneAsm(SB), NOSPLIT, $0-56
	MOVQ d+0(FP), DI
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
	VADDSS (DI)(CX*8), X0, X0
	VMOVSS X0, (DI)(CX*8)
	MOVQ   w+32(FP), AX
	TESTQ  $1, AX
	JNZ    next
	VMOVSS (DX)(CX*4), X0
	VADDSS (R10)(CX*4), X0, X0
	VADDSS 4(DI)(CX*8), X0, X0
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
	VADDSS (DI)(CX*8), X0, X0
	VMOVSS X0, (DI)(CX*8)
	MOVQ   w+32(FP), AX
	TESTQ  $1, AX
	JNZ    next
	VMOVSS (DX)(CX*4), X0
	VADDSS 4(DI)(CX*8), X0, X0
	VMOVSS X0, 4(DI)(CX*8)

next:
	MOVQ  w+32(FP), AX
	LEAQ  (DI)(AX*4), DI
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
