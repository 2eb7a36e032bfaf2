#include "textflag.h"
#include "blk_amd64.h"

// The weight gradient's transforms for bfloat16 products (gemm.MulPanelsBF16): inputBlk16 and
// gradBlk16 writing gemm's pair layout directly, tile t into the low (t even: the whole word,
// high half zero) or high (t odd: masked 16-bit stores) halves of pair row t/2, instead of
// float32 rows converted afterwards. VCVTNEPS2BF16 (round to nearest even, as gemm's
// conversions) is emitted as its EVEX bytes (the Go assembler has no mnemonic for it; checked
// against GNU as): CVTn is VCVTNEPS2BF16 Zn, Yn.
#define CVT0 BYTE $0x62; BYTE $0xf2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xc0
#define CVT4 BYTE $0x62; BYTE $0xf2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xe4
#define CVT6 BYTE $0x62; BYTE $0xf2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xf6
#define CVT8 BYTE $0x62; BYTE $0x52; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xc0
#define CVT10 BYTE $0x62; BYTE $0x52; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xd2
#define CVT11 BYTE $0x62; BYTE $0x52; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xdb
#define CVT12 BYTE $0x62; BYTE $0x52; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xe4
#define CVT13 BYTE $0x62; BYTE $0x52; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xed
#define CVT14 BYTE $0x62; BYTE $0x52; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xf6
#define CVT15 BYTE $0x62; BYTE $0x52; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xff
#define CVT16 BYTE $0x62; BYTE $0xa2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xc0
#define CVT17 BYTE $0x62; BYTE $0xa2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xc9
#define CVT18 BYTE $0x62; BYTE $0xa2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xd2
#define CVT19 BYTE $0x62; BYTE $0xa2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xdb
#define CVT20 BYTE $0x62; BYTE $0xa2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xe4
#define CVT21 BYTE $0x62; BYTE $0xa2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xed

// HIMASK sets K6 to the high 16-bit halves of 16 words (the Hi functions' stores).
#define HIMASK \
	MOVL  $0xaaaaaaaa, AX; \
	KMOVD AX, K6

// VROWT is VROW's arithmetic (v0 = a − c, v1 = b + c, v2 = c − b, v3 = b − d into Z16..Z19),
// then each row rounded to bf16 and widened to one word per lane (value in the low half).
#define VROWT(a, b, c, d) \
	VSUBPS    c, a, Z16; \
	VADDPS    c, b, Z17; \
	VSUBPS    b, c, Z18; \
	VSUBPS    d, b, Z19; \
	CVT16;               \
	CVT17;               \
	CVT18;               \
	CVT19;               \
	VPMOVZXWD Y16, Z16;  \
	VPMOVZXWD Y17, Z17;  \
	VPMOVZXWD Y18, Z18;  \
	VPMOVZXWD Y19, Z19

#define VROWLO(a, b, c, d) \
	VROWT(a, b, c, d);               \
	VMOVDQU32 Z16, (R10);            \
	VMOVDQU32 Z17, (R10)(R11*1);     \
	VMOVDQU32 Z18, (R10)(R11*2);     \
	VMOVDQU32 Z19, (R10)(R12*1);     \
	LEAQ      (R10)(R11*4), R10

#define VROWHI(a, b, c, d) \
	VROWT(a, b, c, d);               \
	VPSLLD    $16, Z16, Z16;         \
	VPSLLD    $16, Z17, Z17;         \
	VPSLLD    $16, Z18, Z18;         \
	VPSLLD    $16, Z19, Z19;         \
	VMOVDQU16 Z16, K6, (R10);        \
	VMOVDQU16 Z17, K6, (R10)(R11*1); \
	VMOVDQU16 Z18, K6, (R10)(R11*2); \
	VMOVDQU16 Z19, K6, (R10)(R12*1); \
	LEAQ      (R10)(R11*4), R10

// func inputBlk16Lo(x *float32, off, hw, w, ng int, masks *uint16, v *uint32, xis int)
TEXT ·inputBlk16Lo(SB), NOSPLIT, $0-64
	INBSETUP
inlo:
	INBCOLS
	VROWLO(Z0, Z1, Z2, Z3)
	VROWLO(Z4, Z5, Z6, Z7)
	VROWLO(Z8, Z9, Z10, Z11)
	VROWLO(Z12, Z13, Z14, Z15)
	INBNEXT
	JNZ inlo
	VZEROUPPER
	RET

// func inputBlk16Hi(x *float32, off, hw, w, ng int, masks *uint16, v *uint32, xis int)
TEXT ·inputBlk16Hi(SB), NOSPLIT, $0-64
	HIMASK
	INBSETUP
inhi:
	INBCOLS
	VROWHI(Z0, Z1, Z2, Z3)
	VROWHI(Z4, Z5, Z6, Z7)
	VROWHI(Z8, Z9, Z10, Z11)
	VROWHI(Z12, Z13, Z14, Z15)
	INBNEXT
	JNZ inhi
	VZEROUPPER
	RET

// ZWIDE rounds four Z rows to bf16 and widens them to one word per lane.
#define ZWIDE(za, ya, zb, yb, zc, yc, zd, yd) \
	VPMOVZXWD ya, za; \
	VPMOVZXWD yb, zb; \
	VPMOVZXWD yc, zc; \
	VPMOVZXWD yd, zd

// ZSTLO and ZSTHI store row i of Z (ξ = 4i..4i+3) as gradBlk16's ZROW does, in pair words: the
// low 8 lanes (one panel) at R10, the high 8 (the next panel) at DX.
#define ZSTLO(za, ya, zb, yb, zc, yc, zd, yd) \
	VMOVDQU32      ya, (R10);            \
	VMOVDQU32      yb, (R10)(R11*1);     \
	VMOVDQU32      yc, (R10)(R11*2);     \
	VMOVDQU32      yd, (R10)(R12*1);     \
	VEXTRACTI32X8  $1, za, Y22;          \
	VMOVDQU32      Y22, (DX);            \
	VEXTRACTI32X8  $1, zb, Y23;          \
	VMOVDQU32      Y23, (DX)(R11*1);     \
	VEXTRACTI32X8  $1, zc, Y24;          \
	VMOVDQU32      Y24, (DX)(R11*2);     \
	VEXTRACTI32X8  $1, zd, Y25;          \
	VMOVDQU32      Y25, (DX)(R12*1);     \
	LEAQ           (R10)(R11*4), R10;    \
	LEAQ           (DX)(R11*4), DX

#define ZSTHI(za, ya, zb, yb, zc, yc, zd, yd) \
	VPSLLD         $16, za, za;          \
	VPSLLD         $16, zb, zb;          \
	VPSLLD         $16, zc, zc;          \
	VPSLLD         $16, zd, zd;          \
	VMOVDQU16      ya, K6, (R10);        \
	VMOVDQU16      yb, K6, (R10)(R11*1); \
	VMOVDQU16      yc, K6, (R10)(R11*2); \
	VMOVDQU16      yd, K6, (R10)(R12*1); \
	VEXTRACTI32X8  $1, za, Y22;          \
	VMOVDQU16      Y22, K6, (DX);        \
	VEXTRACTI32X8  $1, zb, Y23;          \
	VMOVDQU16      Y23, K6, (DX)(R11*1); \
	VEXTRACTI32X8  $1, zc, Y24;          \
	VMOVDQU16      Y24, K6, (DX)(R11*2); \
	VEXTRACTI32X8  $1, zd, Y25;          \
	VMOVDQU16      Y25, K6, (DX)(R12*1); \
	LEAQ           (R10)(R11*4), R10;    \
	LEAQ           (DX)(R11*4), DX

// GRBZW is GRBZ (blk_amd64.h) with Z's rows rounded to bf16 and widened.
#define GRBZW \
	GRBZ;                                        \
	CVT0; CVT10; CVT11; CVT12;                   \
	CVT4; CVT13; CVT14; CVT15;                   \
	CVT6; CVT16; CVT17; CVT18;                   \
	CVT8; CVT19; CVT20; CVT21;                   \
	ZWIDE(Z0, Y0, Z10, Y10, Z11, Y11, Z12, Y12); \
	ZWIDE(Z4, Y4, Z13, Y13, Z14, Y14, Z15, Y15); \
	ZWIDE(Z6, Y6, Z16, Y16, Z17, Y17, Z18, Y18); \
	ZWIDE(Z8, Y8, Z19, Y19, Z20, Y20, Z21, Y21)

// func gradBlk16Lo(dy *float32, off, hw, w, ng int, masks *uint16, z *uint32, xis, ldz int)
TEXT ·gradBlk16Lo(SB), NOSPLIT, $0-72
	GRBSETUP
grlo:
	GRBZW
	ZSTLO(Z0, Y0, Z10, Y10, Z11, Y11, Z12, Y12)
	ZSTLO(Z4, Y4, Z13, Y13, Z14, Y14, Z15, Y15)
	ZSTLO(Z6, Y6, Z16, Y16, Z17, Y17, Z18, Y18)
	ZSTLO(Z8, Y8, Z19, Y19, Z20, Y20, Z21, Y21)
	GRBNEXT
	JNZ grlo
	VZEROUPPER
	RET

// func gradBlk16Hi(dy *float32, off, hw, w, ng int, masks *uint16, z *uint32, xis, ldz int)
TEXT ·gradBlk16Hi(SB), NOSPLIT, $0-72
	HIMASK
	GRBSETUP
grhi:
	GRBZW
	ZSTHI(Z0, Y0, Z10, Y10, Z11, Y11, Z12, Y12)
	ZSTHI(Z4, Y4, Z13, Y13, Z14, Y14, Z15, Y15)
	ZSTHI(Z6, Y6, Z16, Y16, Z17, Y17, Z18, Y18)
	ZSTHI(Z8, Y8, Z19, Y19, Z20, Y20, Z21, Y21)
	GRBNEXT
	JNZ grhi
	VZEROUPPER
	RET
