#include "textflag.h"

// func copyRowAsm(dst, src *float32, runs *run, nruns, off, limit int)
// A run is three ints: jj+0, n+8, base+16 (24 bytes).
TEXT ·copyRowAsm(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ runs+16(FP), R8
	MOVQ nruns+24(FP), R9
	MOVQ off+32(FP), R10
	MOVQ limit+40(FP), R12

cnextrun:
	TESTQ R9, R9
	JZ    cdone
	MOVQ  0(R8), AX          // jj
	MOVQ  8(R8), CX          // n
	MOVQ  16(R8), BX         // base
	ADDQ  R10, BX
	LEAQ  (DI)(AX*4), DX     // d = dst + jj
	LEAQ  (SI)(BX*4), BX     // s = src + base + off
	ADDQ  $24, R8
	DECQ  R9
	CMPQ  CX, $8
	JLT   cshort

	// Whole groups of eight, then one more ending at the run's last value (overlapping).
	MOVQ CX, R11
	SUBQ $8, R11             // last group start i = n-8
	XORQ AX, AX              // i

cgroup:
	VMOVUPS (BX)(AX*4), Y0
	VMOVUPS Y0, (DX)(AX*4)
	ADDQ    $8, AX
	CMPQ    AX, R11
	JLE     cgroup
	CMPQ    AX, CX
	JGE     cnextrun
	VMOVUPS (BX)(R11*4), Y0
	VMOVUPS Y0, (DX)(R11*4)
	JMP     cnextrun

cshort:
	// A short run may still take one group of eight when the values past it (later runs, the
	// cleared padding or the next row, all written afterwards) lie before limit.
	MOVQ    AX, R11
	ADDQ    $8, R11
	CMPQ    R11, R12
	JGT     cscalar
	VMOVUPS (BX), Y0
	VMOVUPS Y0, (DX)
	JMP     cnextrun

cscalar:
	XORQ AX, AX

cshortloop:
	CMPQ AX, CX
	JGE  cnextrun
	MOVL (BX)(AX*4), R11
	MOVL R11, (DX)(AX*4)
	INCQ AX
	JMP  cshortloop

cdone:
	VZEROUPPER
	RET

// func stride2RowAsm(dst, src *float32, runs *run, nruns, off, limit int)
// A run is three ints: jj+0, n+8, base+16 (24 bytes). For eight outputs at d from s:
// Y0 = s[0..7], Y1 = s[8..15]; VSHUFPS $0x88 keeps the even values of each 128-bit lane,
// [s0 s2 s8 s10 | s4 s6 s12 s14]; VPERMPD $0xd8 puts the 64-bit pairs in order.
TEXT ·stride2RowAsm(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ runs+16(FP), R8
	MOVQ nruns+24(FP), R9
	MOVQ off+32(FP), R10
	MOVQ limit+40(FP), R12

nextrun:
	TESTQ R9, R9
	JZ    done
	MOVQ  0(R8), AX          // jj
	MOVQ  8(R8), CX          // n
	MOVQ  16(R8), BX         // base
	ADDQ  R10, BX
	LEAQ  (DI)(AX*4), DX     // d = dst + jj
	LEAQ  (SI)(BX*4), BX     // s = src + base + off
	ADDQ  $24, R8
	DECQ  R9
	CMPQ  CX, $8
	JLT   short

	// Whole groups of eight, then one more ending at the run's last value (overlapping).
	MOVQ CX, R11
	SUBQ $8, R11             // last group start i = n-8
	XORQ AX, AX              // i

group:
	VMOVUPS   (BX)(AX*8), Y0
	VMOVUPS   32(BX)(AX*8), Y1
	VSHUFPS   $0x88, Y1, Y0, Y2
	VPERMPD   $0xd8, Y2, Y2
	VMOVUPS   Y2, (DX)(AX*4)
	ADDQ      $8, AX
	CMPQ      AX, R11
	JLE       group
	CMPQ      AX, CX
	JGE       nextrun
	MOVQ      R11, AX
	VMOVUPS   (BX)(AX*8), Y0
	VMOVUPS   32(BX)(AX*8), Y1
	VSHUFPS   $0x88, Y1, Y0, Y2
	VPERMPD   $0xd8, Y2, Y2
	VMOVUPS   Y2, (DX)(AX*4)
	JMP       nextrun

short:
	// A short run may still take one group of eight when the three values past it (later runs,
	// the cleared padding or the next row, all written afterwards) lie before limit.
	MOVQ AX, R11
	ADDQ $8, R11
	CMPQ R11, R12
	JGT  scalar
	VMOVUPS   (BX), Y0
	VMOVUPS   32(BX), Y1
	VSHUFPS   $0x88, Y1, Y0, Y2
	VPERMPD   $0xd8, Y2, Y2
	VMOVUPS   Y2, (DX)
	JMP       nextrun

scalar:
	XORQ AX, AX

shortloop:
	CMPQ  AX, CX
	JGE   nextrun
	MOVL  (BX)(AX*8), R11
	MOVL  R11, (DX)(AX*4)
	INCQ  AX
	JMP   shortloop

done:
	VZEROUPPER
	RET
