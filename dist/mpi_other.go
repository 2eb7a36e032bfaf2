//go:build !(linux || darwin || freebsd)

package dist

import (
	"fmt"
	"runtime"
)

// LibEnv names the environment variable that picks the MPI library file.
const LibEnv = "CONTRASTIVE_MPI_LIB"

// Library reports that MPI is not loaded on this platform.
func Library() (string, error) {
	return "", fmt.Errorf("loading MPI at run time is not supported on %s", runtime.GOOS)
}

func joinMPI(l Launcher) (Comm, error) {
	return nil, fmt.Errorf("started by an MPI launcher (%s) but loading MPI at run time is not supported on %s", l.Var, runtime.GOOS)
}
