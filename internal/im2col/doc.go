// Package im2col holds the convolution's data movement for package autodiff: the window
// geometry (ConvGeom), the column matrix of a convolution (Im2col) and its adjoint (Col2im),
// zero-padded copies of image batches (PadImages) and the implicit-im2col packers that read
// GEMM panels straight from them (Im2colPanel, Im2colTPanel) for internal/gemm's GemmPackB.
//
// It is engine plumbing, not part of the library's API: users build convolutions with
// autodiff.Conv2d.
package im2col
