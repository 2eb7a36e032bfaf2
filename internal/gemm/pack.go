package gemm

// packA copies alpha·op(A)[i0:i0+mb, p0:p0+kb] into dst as panels of mr rows: panel r holds, for
// each p in turn, the mr values of column p, with rows past mb set to zero.
func packA(dst []float32, mr int, trans bool, alpha float32, a []float32, lda, i0, p0, mb, kb int) {
	for r := 0; r < mb; r += mr {
		rows := min(mr, mb-r)
		panel := dst[r*kb : r*kb+mr*kb]
		if rows < mr {
			clear(panel)
		}
		if trans {
			// op(A)[i][p] = a[p*lda+i]: each p reads rows consecutive values. Whole 8- and 6-row
			// panels move in 16- and 8-byte pieces the compiler inlines (copy(), or an array
			// assignment this long, calls memmove for every step: measured as 70% of packA in a
			// ResNet-18 step).
			if alpha == 1 && rows == mr && (mr == 8 || mr == 6) {
				base := p0*lda + i0 + r
				for p := 0; p < kb; p++ {
					src := a[base+p*lda : base+p*lda+mr]
					d := panel[p*mr : p*mr+mr]
					*(*[4]float32)(d) = *(*[4]float32)(src)
					if mr == 8 {
						*(*[4]float32)(d[4:]) = *(*[4]float32)(src[4:])
					} else {
						*(*[2]float32)(d[4:]) = *(*[2]float32)(src[4:])
					}
				}
				continue
			}
			for p := 0; p < kb; p++ {
				src := a[(p0+p)*lda+i0+r : (p0+p)*lda+i0+r+rows]
				d := panel[p*mr : p*mr+rows]
				if alpha == 1 {
					copy(d, src)
					continue
				}
				for i, v := range src {
					d[i] = alpha * v
				}
			}
			continue
		}
		// op(A)[i][p] = a[i*lda+p]: read the panel's rows side by side, write contiguously.
		off := (i0+r)*lda + p0
		if rows == mr && packRows(panel, mr, alpha, a[off:], lda, kb) {
			continue
		}
		for i := 0; i < rows; i++ {
			src := a[off+i*lda : off+i*lda+kb]
			d := panel[i:]
			for p, v := range src {
				d[p*mr] = alpha * v
			}
		}
	}
}

// packRows interleaves mr rows of length kb, starting at a[0] with stride lda, into dst
// (dst[p*mr+i] = alpha·row i[p]) and reports whether it handled this mr. Reading all rows at the
// same column and writing each step's mr values together is several times faster than scattering
// one row at a time with stride mr.
func packRows(dst []float32, mr int, alpha float32, a []float32, lda, kb int) bool {
	switch mr {
	case 8:
		r0, r1, r2, r3 := a[:kb], a[lda:lda+kb], a[2*lda:2*lda+kb], a[3*lda:3*lda+kb]
		r4, r5, r6, r7 := a[4*lda:4*lda+kb], a[5*lda:5*lda+kb], a[6*lda:6*lda+kb], a[7*lda:7*lda+kb]
		dst = dst[:8*kb]
		for p := range r0 {
			d := dst[8*p : 8*p+8 : 8*p+8]
			d[0], d[1], d[2], d[3] = alpha*r0[p], alpha*r1[p], alpha*r2[p], alpha*r3[p]
			d[4], d[5], d[6], d[7] = alpha*r4[p], alpha*r5[p], alpha*r6[p], alpha*r7[p]
		}
	case 6:
		r0, r1, r2, r3 := a[:kb], a[lda:lda+kb], a[2*lda:2*lda+kb], a[3*lda:3*lda+kb]
		r4, r5 := a[4*lda:4*lda+kb], a[5*lda:5*lda+kb]
		dst = dst[:6*kb]
		for p := range r0 {
			d := dst[6*p : 6*p+6 : 6*p+6]
			d[0], d[1], d[2], d[3] = alpha*r0[p], alpha*r1[p], alpha*r2[p], alpha*r3[p]
			d[4], d[5] = alpha*r4[p], alpha*r5[p]
		}
	case 4:
		r0, r1, r2, r3 := a[:kb], a[lda:lda+kb], a[2*lda:2*lda+kb], a[3*lda:3*lda+kb]
		dst = dst[:4*kb]
		for p := range r0 {
			d := dst[4*p : 4*p+4 : 4*p+4]
			d[0], d[1], d[2], d[3] = alpha*r0[p], alpha*r1[p], alpha*r2[p], alpha*r3[p]
		}
	default:
		return false
	}
	return true
}

// packBPanel copies the kb×cols block op(B)[p0:p0+kb, j0:j0+cols] into the nr-column panel dst
// (kb rows of nr values), setting columns past cols to zero.
func packBPanel(dst []float32, nr int, trans bool, b []float32, ldb, p0, j0, kb, cols int) {
	if cols < nr {
		clear(dst)
	}
	if !trans {
		// op(B)[p][j] = b[p*ldb+j]: each p is one contiguous copy.
		for p := 0; p < kb; p++ {
			off := (p0+p)*ldb + j0
			copy(dst[p*nr:p*nr+cols], b[off:off+cols])
		}
		return
	}
	// op(B)[p][j] = b[j*ldb+p]: each column j is read once and scattered with stride nr.
	for j := 0; j < cols; j++ {
		off := (j0+j)*ldb + p0
		d := dst[j:]
		for p, v := range b[off : off+kb] {
			d[p*nr] = v
		}
	}
}
