// Package dist holds the communicators of data-parallel training: a small interface over the
// collectives training needs (sum all-reduce, all-gather, broadcast, barrier), a single-process
// implementation, and MPI — Open MPI 4.1 or MPICH 4.0, loaded at run time through purego, with
// no cgo — for a job started by mpirun/mpiexec.
//
// Join is the entry point: run under mpirun (Open MPI, PMIx or MPICH/Hydra variables in the
// environment) it loads the MPI library, initialises it and returns a communicator over every
// process of the job; run any other way it returns Local and loads nothing.
//
//	c, err := dist.Join()
//	if err != nil { return err } // one sentence: which library, what failed
//	defer c.Close()
//	c.AllReduce(grad)                 // in-place sum over the ranks
//	c.AllGather(all, mine)            // all = [rank 0's mine; rank 1's; ...]
//
// Collectives follow MPI's rules: every rank calls the same collectives in the same order with
// matching lengths (AllGather: the same len(src) on every rank). All calls of a communicator are
// carried out in the order they are made, on one OS thread (IAllReduce queues its call there and
// returns at once), so a communicator may be used from any goroutine, but the order in which
// goroutines call it must be the same on every rank.
package dist

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
)

// Comm is a communicator: the processes ("ranks") of one job and the collectives over them.
type Comm interface {
	// Rank is this process's index in [0, Size()).
	Rank() int
	// Size is the number of processes.
	Size() int
	// AllReduce replaces buf by its elementwise sum over every rank (in place). Every rank ends
	// with the same values.
	AllReduce(buf []float32)
	// AllReduce64 is AllReduce on float64 values (statistics that must not lose precision).
	AllReduce64(buf []float64)
	// IAllReduce starts AllReduce(buf) and returns at once; buf must not be read or written
	// until the request's Wait returns. Requests complete in the order they were made.
	IAllReduce(buf []float32) *Request
	// AllGather writes rank r's src into dst[r·len(src) : (r+1)·len(src)] for every r;
	// len(dst) must be Size()·len(src) and len(src) the same on every rank.
	AllGather(dst, src []float32)
	// Broadcast copies root's buf into buf on every other rank (same len(buf) everywhere).
	Broadcast(buf []byte, root int)
	// Barrier returns once every rank has called it.
	Barrier()
	// Abort ends every process of the job with the exit status code (MPI_Abort); it does not
	// return. Use it when one rank fails and the others would wait for it forever.
	Abort(code int)
	// Close ends the communicator (MPI_Finalize); every rank must call it before exiting.
	// Calls after Close panic.
	Close() error
	// Name describes the implementation: "local", or the MPI library and its version.
	Name() string
}

// Request is an operation started by IAllReduce.
type Request struct {
	done chan struct{}
}

// Wait returns once the operation has completed. It may be called more than once.
func (r *Request) Wait() {
	if r != nil && r.done != nil {
		<-r.done
	}
}

// doneRequest is a request that has already completed.
func doneRequest() *Request {
	d := make(chan struct{})
	close(d)
	return &Request{done: d}
}

// Local is the communicator of a single process: rank 0 of 1; every collective leaves its data
// as it is (AllGather copies src into dst). Its zero value is ready to use.
type Local struct{}

// Rank returns 0.
func (Local) Rank() int { return 0 }

// Size returns 1.
func (Local) Size() int { return 1 }

// AllReduce leaves buf unchanged (the sum over one rank).
func (Local) AllReduce([]float32) {}

// AllReduce64 leaves buf unchanged.
func (Local) AllReduce64([]float64) {}

// IAllReduce returns a completed request.
func (Local) IAllReduce([]float32) *Request { return doneRequest() }

// AllGather copies src into dst, which must have src's length.
func (Local) AllGather(dst, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("dist.AllGather: dst has %d values, want 1·%d", len(dst), len(src)))
	}
	copy(dst, src)
}

// Broadcast does nothing; root must be 0.
func (Local) Broadcast(_ []byte, root int) {
	if root != 0 {
		panic(fmt.Sprintf("dist.Broadcast: root %d outside a world of 1", root))
	}
}

// Barrier returns at once.
func (Local) Barrier() {}

// Abort exits the process with code.
func (Local) Abort(code int) { os.Exit(code) }

// Close does nothing.
func (Local) Close() error { return nil }

// Name returns "local".
func (Local) Name() string { return "local" }

// maxCount is the largest element count one MPI call is given (counts are C ints); larger
// buffers go in chunks. A variable so that tests can exercise the chunking.
var maxCount = math.MaxInt32

// Launcher describes how the environment says this process was started.
type Launcher struct {
	// Kind is "" (not under MPI), "openmpi" (Open MPI's mpirun: OMPI_COMM_WORLD_* variables),
	// "pmix" (a PMIx launcher, e.g. Open MPI 5 or Slurm with PMIx: PMIX_RANK) or "mpich"
	// (MPICH's Hydra mpiexec or another PMI-1/2 launcher: PMI_RANK / PMI_SIZE).
	Kind string
	// Rank and Size as the launcher announced them (-1 when it does not say).
	Rank, Size int
	// Var is the variable that identified the launcher, e.g. "OMPI_COMM_WORLD_SIZE=2".
	Var string
}

// Launched reports whether the environment says an MPI launcher started this process.
func (l Launcher) Launched() bool { return l.Kind != "" }

// Detect reads the launcher from the environment. It loads nothing; settings a user exports by
// hand (OMPI_ALLOW_RUN_AS_ROOT, OMPI_MCA_*) do not count, only the per-process variables a
// launcher sets.
func Detect() Launcher { return detect(os.LookupEnv) }

func detect(env func(string) (string, bool)) Launcher {
	num := func(name string) int {
		v, ok := env(name)
		if !ok {
			return -1
		}
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(v), &n); err != nil {
			return -1
		}
		return n
	}
	for _, c := range []struct{ kind, rank, size string }{
		{"openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
		{"pmix", "PMIX_RANK", ""},
		{"mpich", "PMI_RANK", "PMI_SIZE"},
	} {
		for _, name := range []string{c.size, c.rank} {
			if name == "" {
				continue
			}
			if v, ok := env(name); ok {
				l := Launcher{Kind: c.kind, Rank: num(c.rank), Size: -1, Var: name + "=" + v}
				if c.size != "" {
					l.Size = num(c.size)
				}
				return l
			}
		}
	}
	return Launcher{Rank: -1, Size: -1}
}

// Join returns the communicator of this process: Local when no MPI launcher started it (no
// library is loaded then), otherwise the world communicator of the job, with MPI initialised.
// The error, when the launcher is there but the library cannot be loaded or initialised, is one
// sentence naming the library and the cause.
func Join() (Comm, error) {
	l := Detect()
	if !l.Launched() {
		return Local{}, nil
	}
	return joinMPI(l)
}

// RankError is an error of one rank that every rank of the job knows (FirstError).
type RankError struct {
	Rank, Size int
	Err        error // the rank's own error on that rank; its message elsewhere
}

func (e *RankError) Error() string { return fmt.Sprintf("rank %d of %d: %v", e.Rank, e.Size, e.Err) }
func (e *RankError) Unwrap() error { return e.Err }

// FirstError is a collective: every rank passes its own error (nil when it went well), and every
// rank gets nil when no rank failed, otherwise the same *RankError: the lowest failing rank's,
// its message broadcast from it (cut at 4 KiB). So the ranks can stop together, none left
// waiting for another in a later collective.
func FirstError(c Comm, err error) error {
	if c.Size() == 1 {
		return err
	}
	flags := make([]float64, c.Size())
	if err != nil {
		flags[c.Rank()] = 1
	}
	c.AllReduce64(flags)
	for r, f := range flags {
		if f == 0 {
			continue
		}
		buf := make([]byte, 4096)
		if r == c.Rank() {
			copy(buf, err.Error())
		}
		c.Broadcast(buf, r)
		if r != c.Rank() {
			err = errors.New(string(bytes.TrimRight(buf, "\x00")))
		}
		return &RankError{Rank: r, Size: c.Size(), Err: err}
	}
	return nil
}
