package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/train"
)

// Data-parallel training: `mpirun -np N contrastive train ...` runs N copies of the command,
// which find the launcher's variables (dist.Detect), load MPI and join the job (dist.Join);
// run any other way, train loads no MPI library and runs alone. Every rank parses the same
// flags and builds the same run; rank 0 writes the model directory and prints the progress and
// the result.

// joinJob returns this process's communicator: dist.Local when no MPI launcher started it.
func joinJob() (dist.Comm, error) {
	if !dist.Detect().Launched() {
		return dist.Local{}, nil
	}
	return dist.Join()
}

// launcherRank is the rank the launcher announced (0 when none), known before MPI is loaded.
func launcherRank() int { return max(0, dist.Detect().Rank) }

// silentExit ends the command with a status and no message (another rank reports the cause).
type silentExit struct{ code int }

func (e silentExit) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// rankExit is how a rank of a data-parallel run ends after err: a JobError (every rank stopped at
// the same point) is reported by rank 0 alone and ends normally; any other error is this rank's
// alone while the others may be waiting for it in a collective, so it is printed, naming the
// rank, and the whole job is aborted (MPI_Abort).
func rankExit(comm dist.Comm, err error, stderr io.Writer) error {
	if err == nil || comm.Size() == 1 {
		return err
	}
	var je *train.JobError
	if errors.As(err, &je) {
		// mpirun ends the whole job as soon as one rank exits non-zero, so rank 0 prints the
		// sentence before any rank may exit: the others wait for it at a barrier.
		if comm.Rank() == 0 {
			fmt.Fprintf(stderr, "contrastive train: %s\n", strings.TrimSpace(err.Error()))
			if f, ok := stderr.(*os.File); ok {
				f.Sync()
			}
		}
		comm.Barrier()
		return silentExit{1}
	}
	fmt.Fprintf(stderr, "contrastive train: rank %d of %d: %v; ending the job\n", comm.Rank(), comm.Size(), err)
	if f, ok := stderr.(*os.File); ok {
		f.Sync()
	}
	comm.Abort(1)
	return err // not reached
}
