//go:build race

package autodiff_test

// raceDetector is set in -race builds, where sync.Pool drops items at random on purpose (the GEMM's
// packing buffers live in one), so a step's total allocation cannot be bounded.
const raceDetector = true
