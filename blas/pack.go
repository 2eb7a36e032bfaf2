package blas

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
			// op(A)[i][p] = a[p*lda+i]: each p reads rows consecutive values.
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
		// op(A)[i][p] = a[i*lda+p]: each row i is read once and scattered with stride mr.
		for i := 0; i < rows; i++ {
			src := a[(i0+r+i)*lda+p0 : (i0+r+i)*lda+p0+kb]
			d := panel[i:]
			if alpha == 1 {
				for p, v := range src {
					d[p*mr] = v
				}
				continue
			}
			for p, v := range src {
				d[p*mr] = alpha * v
			}
		}
	}
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
