#include "textflag.h"

// Dot products for dot.go. Go assembler operand order: sources first, destination last
// (VFMADD231PS Z2, Z1, Z0 is Z0 += Z1·Z2).

// func dot512(a, b *float32, n int) float32
// n a positive multiple of 16; four accumulators of 16 lanes over blocks of 64.
TEXT ·dot512(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3

d512loop64:
	CMPQ        CX, $64
	JLT         d512loop16
	VMOVUPS     (SI), Z4
	VMOVUPS     64(SI), Z5
	VMOVUPS     128(SI), Z6
	VMOVUPS     192(SI), Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ        $256, SI
	ADDQ        $256, DI
	SUBQ        $64, CX
	JMP         d512loop64

d512loop16:
	CMPQ        CX, $16
	JLT         d512done
	VMOVUPS     (SI), Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         d512loop16

d512done:
	VADDPS       Z1, Z0, Z0
	VADDPS       Z3, Z2, Z2
	VADDPS       Z2, Z0, Z0
	VEXTRACTF32X8 $1, Z0, Y1
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VPERMILPS    $0x0e, X0, X1
	VADDPS       X1, X0, X0
	VPERMILPS    $0x01, X0, X1
	VADDSS       X1, X0, X0
	VMOVSS       X0, ret+24(FP)
	VZEROUPPER
	RET

// func dot256(a, b *float32, n int) float32
// n a positive multiple of 8; four accumulators of 8 lanes over blocks of 32.
TEXT ·dot256(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

d256loop32:
	CMPQ        CX, $32
	JLT         d256loop8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         d256loop32

d256loop8:
	CMPQ        CX, $8
	JLT         d256done
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         d256loop8

d256done:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VPERMILPS    $0x0e, X0, X1
	VADDPS       X1, X0, X0
	VPERMILPS    $0x01, X0, X1
	VADDSS       X1, X0, X0
	VMOVSS       X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotU8512(q *float32, c *uint8, n int) float32
// Σ q[i]·c[i] with the bytes widened to int32 then converted to float; n a multiple of 16.
TEXT ·dotU8512(SB), NOSPLIT, $0-28
	MOVQ   q+0(FP), SI
	MOVQ   c+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1

u512loop32:
	CMPQ        CX, $32
	JLT         u512loop16
	VPMOVZXBD   (DI), Z4
	VPMOVZXBD   16(DI), Z5
	VCVTDQ2PS   Z4, Z4
	VCVTDQ2PS   Z5, Z5
	VFMADD231PS (SI), Z4, Z0
	VFMADD231PS 64(SI), Z5, Z1
	ADDQ        $128, SI
	ADDQ        $32, DI
	SUBQ        $32, CX
	JMP         u512loop32

u512loop16:
	CMPQ        CX, $16
	JLT         u512done
	VPMOVZXBD   (DI), Z4
	VCVTDQ2PS   Z4, Z4
	VFMADD231PS (SI), Z4, Z0
	ADDQ        $64, SI
	ADDQ        $16, DI
	SUBQ        $16, CX
	JMP         u512loop16

u512done:
	VADDPS        Z1, Z0, Z0
	VEXTRACTF32X8 $1, Z0, Y1
	VADDPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VPERMILPS     $0x0e, X0, X1
	VADDPS        X1, X0, X0
	VPERMILPS     $0x01, X0, X1
	VADDSS        X1, X0, X0
	VMOVSS        X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotU8256(q *float32, c *uint8, n int) float32
// n a multiple of 8.
TEXT ·dotU8256(SB), NOSPLIT, $0-28
	MOVQ   q+0(FP), SI
	MOVQ   c+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

u256loop16:
	CMPQ        CX, $16
	JLT         u256loop8
	VPMOVZXBD   (DI), Y4
	VPMOVZXBD   8(DI), Y5
	VCVTDQ2PS   Y4, Y4
	VCVTDQ2PS   Y5, Y5
	VFMADD231PS (SI), Y4, Y0
	VFMADD231PS 32(SI), Y5, Y1
	ADDQ        $64, SI
	ADDQ        $16, DI
	SUBQ        $16, CX
	JMP         u256loop16

u256loop8:
	CMPQ        CX, $8
	JLT         u256done
	VPMOVZXBD   (DI), Y4
	VCVTDQ2PS   Y4, Y4
	VFMADD231PS (SI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $8, DI
	SUBQ        $8, CX
	JMP         u256loop8

u256done:
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VPERMILPS    $0x0e, X0, X1
	VADDPS       X1, X0, X0
	VPERMILPS    $0x01, X0, X1
	VADDSS       X1, X0, X0
	VMOVSS       X0, ret+24(FP)
	VZEROUPPER
	RET

// func prefetch(p uintptr, n int)
// Hints the cache lines of the n > 0 bytes from p into L1 (PREFETCHT0); never faults.
TEXT ·prefetch(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	LEAQ (SI)(CX*1), CX
	ANDQ $-64, SI

pfloop:
	PREFETCHT0 (SI)
	ADDQ       $64, SI
	CMPQ       SI, CX
	JLT        pfloop
	RET

// func prefetchU16s(base uintptr, idx *uint32, n int)
// Hints the cache lines holding the uint16s base[idx[0..n-1]] (n > 0): the visited marks of a
// node's neighbours.
TEXT ·prefetchU16s(SB), NOSPLIT, $0-24
	MOVQ base+0(FP), SI
	MOVQ idx+8(FP), DI
	MOVQ n+16(FP), CX

pu16loop:
	MOVL       (DI), AX
	PREFETCHT0 (SI)(AX*2)
	ADDQ       $4, DI
	DECQ       CX
	JNZ        pu16loop
	RET

// func prefetchRows(base uintptr, stride int, ids *uint32, n, bytes int)
// Hints the cache lines of rows base + ids[j]·stride, bytes long each, for j < n (n > 0).
TEXT ·prefetchRows(SB), NOSPLIT, $0-40
	MOVQ base+0(FP), R8
	MOVQ stride+8(FP), R9
	MOVQ ids+16(FP), R10
	MOVQ n+24(FP), R11
	MOVQ bytes+32(FP), R12

prrow:
	MOVL  (R10), AX
	IMULQ R9, AX
	LEAQ  (R8)(AX*1), SI
	LEAQ  (SI)(R12*1), DX
	ANDQ  $-64, SI

prline:
	PREFETCHT0 (SI)
	ADDQ       $64, SI
	CMPQ       SI, DX
	JLT        prline
	ADDQ       $4, R10
	DECQ       R11
	JNZ        prrow
	RET

// func dotRows512(q, base *float32, stride int, ids *uint32, n, d int, out *float32)
// out[j] = q · row ids[j], the row at base + ids[j]·stride bytes, for j < n (n > 0); d a
// positive multiple of 16. One call scores all the neighbours of a node.
TEXT ·dotRows512(SB), NOSPLIT, $0-56
	MOVQ q+0(FP), R8
	MOVQ base+8(FP), R9
	MOVQ stride+16(FP), R10
	MOVQ ids+24(FP), R11
	MOVQ n+32(FP), R12
	MOVQ d+40(FP), R13
	MOVQ out+48(FP), BX

drrow:
	MOVL   (R11), AX
	IMULQ  R10, AX
	LEAQ   (R9)(AX*1), DI
	MOVQ   R8, SI
	MOVQ   R13, CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3

dr64:
	CMPQ        CX, $64
	JLT         dr16
	VMOVUPS     (SI), Z4
	VMOVUPS     64(SI), Z5
	VMOVUPS     128(SI), Z6
	VMOVUPS     192(SI), Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ        $256, SI
	ADDQ        $256, DI
	SUBQ        $64, CX
	JMP         dr64

dr16:
	CMPQ        CX, $16
	JLT         drsum
	VMOVUPS     (SI), Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         dr16

drsum:
	VADDPS        Z1, Z0, Z0
	VADDPS        Z3, Z2, Z2
	VADDPS        Z2, Z0, Z0
	VEXTRACTF32X8 $1, Z0, Y1
	VADDPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VPERMILPS     $0x0e, X0, X1
	VADDPS        X1, X0, X0
	VPERMILPS     $0x01, X0, X1
	VADDSS        X1, X0, X0
	VMOVSS        X0, (BX)
	ADDQ          $4, BX
	ADDQ          $4, R11
	DECQ          R12
	JNZ           drrow
	VZEROUPPER
	RET

// func dotRows256(q, base *float32, stride int, ids *uint32, n, d int, out *float32)
// As dotRows512 with AVX2; d a positive multiple of 8.
TEXT ·dotRows256(SB), NOSPLIT, $0-56
	MOVQ q+0(FP), R8
	MOVQ base+8(FP), R9
	MOVQ stride+16(FP), R10
	MOVQ ids+24(FP), R11
	MOVQ n+32(FP), R12
	MOVQ d+40(FP), R13
	MOVQ out+48(FP), BX

dvrow:
	MOVL   (R11), AX
	IMULQ  R10, AX
	LEAQ   (R9)(AX*1), DI
	MOVQ   R8, SI
	MOVQ   R13, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dv32:
	CMPQ        CX, $32
	JLT         dv8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         dv32

dv8:
	CMPQ        CX, $8
	JLT         dvsum
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         dv8

dvsum:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VPERMILPS    $0x0e, X0, X1
	VADDPS       X1, X0, X0
	VPERMILPS    $0x01, X0, X1
	VADDSS       X1, X0, X0
	VMOVSS       X0, (BX)
	ADDQ         $4, BX
	ADDQ         $4, R11
	DECQ         R12
	JNZ          dvrow
	VZEROUPPER
	RET

// func dotU8Rows512(q *float32, base *uint8, stride int, ids *uint32, n, d int, out *float32)
// out[j] = Σ q[i]·code[i] for the code at base + ids[j]·stride, j < n (n > 0); d a positive
// multiple of 16.
TEXT ·dotU8Rows512(SB), NOSPLIT, $0-56
	MOVQ q+0(FP), R8
	MOVQ base+8(FP), R9
	MOVQ stride+16(FP), R10
	MOVQ ids+24(FP), R11
	MOVQ n+32(FP), R12
	MOVQ d+40(FP), R13
	MOVQ out+48(FP), BX

urrow:
	MOVL   (R11), AX
	IMULQ  R10, AX
	LEAQ   (R9)(AX*1), DI
	MOVQ   R8, SI
	MOVQ   R13, CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1

ur32:
	CMPQ        CX, $32
	JLT         ur16
	VPMOVZXBD   (DI), Z4
	VPMOVZXBD   16(DI), Z5
	VCVTDQ2PS   Z4, Z4
	VCVTDQ2PS   Z5, Z5
	VFMADD231PS (SI), Z4, Z0
	VFMADD231PS 64(SI), Z5, Z1
	ADDQ        $128, SI
	ADDQ        $32, DI
	SUBQ        $32, CX
	JMP         ur32

ur16:
	CMPQ        CX, $16
	JLT         ursum
	VPMOVZXBD   (DI), Z4
	VCVTDQ2PS   Z4, Z4
	VFMADD231PS (SI), Z4, Z0
	ADDQ        $64, SI
	ADDQ        $16, DI
	SUBQ        $16, CX
	JMP         ur16

ursum:
	VADDPS        Z1, Z0, Z0
	VEXTRACTF32X8 $1, Z0, Y1
	VADDPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VPERMILPS     $0x0e, X0, X1
	VADDPS        X1, X0, X0
	VPERMILPS     $0x01, X0, X1
	VADDSS        X1, X0, X0
	VMOVSS        X0, (BX)
	ADDQ          $4, BX
	ADDQ          $4, R11
	DECQ          R12
	JNZ           urrow
	VZEROUPPER
	RET

// func dotU8Rows256(q *float32, base *uint8, stride int, ids *uint32, n, d int, out *float32)
// As dotU8Rows512 with AVX2; d a positive multiple of 8.
TEXT ·dotU8Rows256(SB), NOSPLIT, $0-56
	MOVQ q+0(FP), R8
	MOVQ base+8(FP), R9
	MOVQ stride+16(FP), R10
	MOVQ ids+24(FP), R11
	MOVQ n+32(FP), R12
	MOVQ d+40(FP), R13
	MOVQ out+48(FP), BX

uvrow:
	MOVL   (R11), AX
	IMULQ  R10, AX
	LEAQ   (R9)(AX*1), DI
	MOVQ   R8, SI
	MOVQ   R13, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

uv16:
	CMPQ        CX, $16
	JLT         uv8
	VPMOVZXBD   (DI), Y4
	VPMOVZXBD   8(DI), Y5
	VCVTDQ2PS   Y4, Y4
	VCVTDQ2PS   Y5, Y5
	VFMADD231PS (SI), Y4, Y0
	VFMADD231PS 32(SI), Y5, Y1
	ADDQ        $64, SI
	ADDQ        $16, DI
	SUBQ        $16, CX
	JMP         uv16

uv8:
	CMPQ        CX, $8
	JLT         uvsum
	VPMOVZXBD   (DI), Y4
	VCVTDQ2PS   Y4, Y4
	VFMADD231PS (SI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $8, DI
	SUBQ        $8, CX
	JMP         uv8

uvsum:
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VPERMILPS    $0x0e, X0, X1
	VADDPS       X1, X0, X0
	VPERMILPS    $0x01, X0, X1
	VADDSS       X1, X0, X0
	VMOVSS       X0, (BX)
	ADDQ         $4, BX
	ADDQ         $4, R11
	DECQ         R12
	JNZ          uvrow
	VZEROUPPER
	RET
