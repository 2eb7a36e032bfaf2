//go:build !race

package autodiff_test

// raceDetector is set in -race builds (see race_test.go).
const raceDetector = false
