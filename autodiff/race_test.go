//go:build race

package autodiff_test

// raceDetector is set in -race builds, where sync.Pool drops items at random on purpose, so the
// buffer-reuse test cannot hold.
const raceDetector = true
