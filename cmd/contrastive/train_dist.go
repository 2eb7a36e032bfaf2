package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

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
// the same point) is reported by rank 0 alone and ends normally, as does an agreed stop by a
// signal (exit status 130 or 143, rank 0 saying so); any other error is this rank's
// alone while the others may be waiting for it in a collective, so it is printed, naming the
// rank, and the whole job is aborted (MPI_Abort).
func rankExit(comm dist.Comm, err error, stderr io.Writer) error {
	if err == nil || comm.Size() == 1 {
		return err
	}
	code := 0
	var je *train.JobError
	var se silentExit
	var ee exitError
	switch {
	case errors.As(err, &je):
		code = 1
	case errors.As(err, &ee): // a stop every rank agreed on (a signal), reported by rank 0
		code = ee.code
	case errors.As(err, &se):
		code = se.code
	}
	if code != 0 {
		// Every rank stopped at the same point: rank 0 reports it, and all wait for that before
		// exiting, since mpirun ends the job as soon as a rank exits with a non-zero status.
		if comm.Rank() == 0 {
			fmt.Fprintf(stderr, "contrastive train: %s\n", strings.TrimSpace(err.Error()))
		}
		comm.Barrier()
		return silentExit{code}
	}
	fmt.Fprintf(stderr, "contrastive train: rank %d of %d: %v; ending the job\n", comm.Rank(), comm.Size(), err)
	if f, ok := stderr.(*os.File); ok {
		f.Sync()
	}
	comm.Abort(1)
	return err // not reached
}

// jobInterruption is the exit of a data-parallel run that every rank stopped as "interrupted"
// because one or more ranks got SIGINT or SIGTERM: 143 when any got SIGTERM, else 130, on every
// rank, with rank 0's message naming the signal.
func jobInterruption(comm dist.Comm, ctx context.Context, res *train.Result) error {
	var sc signalCause
	local := errors.As(context.Cause(ctx), &sc)
	v := []float64{0, 0}
	if local && sc.sig == syscall.SIGTERM {
		v[1] = 1
	} else if local {
		v[0] = 1
	}
	comm.AllReduce64(v)
	code, sig := 130, "interrupt"
	if v[1] > 0 {
		code, sig = 143, "terminated"
	}
	where := ""
	if !local {
		where = " on another rank"
	}
	return exitError{code, fmt.Sprintf("interrupted by %s%s after step %d; the checkpoint in %s is saved: continue with --resume", sig, where, res.Steps, res.Dir)}
}
