// Package mpitest runs tests under a real MPI launcher: the test binary that go test built
// re-executes itself as the ranks of an MPI job, each rank running only the calling test.
//
//	func TestAllReduce(t *testing.T) {
//		if !mpitest.Rank() {
//			mpitest.Run(t, mpitest.Job{NP: 2}) // skips when mpirun is absent
//			return
//		}
//		c := mpitest.Join(t) // this rank's communicator, closed (or aborted on failure) at the end
//		...                  // assertions as in any test; a failing rank fails the job
//	}
package mpitest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/contrastive-go/contrastive/dist"
)

// childEnv marks a process started by Run as a rank.
const childEnv = "CONTRASTIVE_MPITEST_RANK"

// Rank reports whether this process is a rank of a job started by Run.
func Rank() bool { return os.Getenv(childEnv) != "" }

// Job describes how Run launches the ranks.
type Job struct {
	// NP is the number of ranks (default 2).
	NP int
	// Launcher is the launcher's command: "mpirun" (Open MPI, the default) or "mpiexec.mpich".
	Launcher string
	// Args are extra launcher arguments, e.g. "--mca", "btl", "self,tcp".
	Args []string
	// Env are extra variables for the ranks ("NAME=value").
	Env []string
	// Timeout bounds the whole job (default 3 minutes).
	Timeout time.Duration
	// Threads is each rank's GOMAXPROCS (default 1: the ranks share this machine's cores).
	Threads int
	// WantFailure expects the job to fail (a fault test): Run then fails t when it succeeds.
	WantFailure bool
}

// Run starts the job: the test binary under the launcher, running only t's test, and fails t
// with every rank's output when the job fails (unless j.WantFailure) or times out. It skips t, saying how to install
// the launcher, when the launcher is not on PATH. It returns the job's combined output.
func Run(t *testing.T, j Job) string {
	t.Helper()
	if j.NP == 0 {
		j.NP = 2
	}
	if j.Launcher == "" {
		j.Launcher = "mpirun"
	}
	if j.Timeout == 0 {
		j.Timeout = 3 * time.Minute
	}
	if j.Threads == 0 {
		j.Threads = 1
	}
	path, err := exec.LookPath(j.Launcher)
	if err != nil {
		pkg := "openmpi-bin"
		if strings.Contains(j.Launcher, "mpich") {
			pkg = "mpich"
		}
		t.Skipf("%s not found: install it (apt-get install %s) to run this test under MPI", j.Launcher, pkg)
	}
	args := []string{"-np", fmt.Sprint(j.NP)}
	if !strings.Contains(j.Launcher, "mpich") && !strings.Contains(j.Launcher, "hydra") {
		args = append(args, "--oversubscribe")
	}
	args = append(args, j.Args...)
	pattern := "^" + regexp.QuoteMeta(strings.SplitN(t.Name(), "/", 2)[0]) + "$"
	// -test.v streams each rank's log as it is written: a failing rank aborts the job from its
	// cleanup, before go test would print a buffered log.
	args = append(args, os.Args[0], "-test.run="+pattern, "-test.count=1", "-test.v", "-test.timeout="+j.Timeout.String())
	ctx, cancel := context.WithTimeout(context.Background(), j.Timeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1", "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
		fmt.Sprintf("GOMAXPROCS=%d", j.Threads))
	cmd.Env = append(cmd.Env, j.Env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s timed out after %v; output:\n%s", j.Launcher, strings.Join(args, " "), j.Timeout, out.String())
	}
	if j.WantFailure {
		if err == nil {
			t.Fatalf("%s %s succeeded, want a failure; output:\n%s", j.Launcher, strings.Join(args, " "), out.String())
		}
		t.Logf("%d ranks under %s failed as expected in %.1fs (%v)", j.NP, j.Launcher, time.Since(start).Seconds(), err)
		return out.String()
	}
	if err != nil {
		t.Fatalf("%s %s: %v; output:\n%s", j.Launcher, strings.Join(args, " "), err, out.String())
	}
	t.Logf("%d ranks under %s passed in %.1fs", j.NP, j.Launcher, time.Since(start).Seconds())
	if testing.Verbose() {
		t.Log(out.String())
	}
	return out.String()
}

// Join returns this rank's communicator (it must be an MPI rank started by Run). At the end of
// the test the communicator is closed, or, when the test failed, the whole job is aborted so
// that no other rank waits for this one in a collective.
func Join(t *testing.T) dist.Comm {
	t.Helper()
	if !Rank() {
		t.Fatal("mpitest.Join called outside a job started by mpitest.Run")
	}
	c, err := dist.Join()
	if err != nil {
		t.Fatal(err)
	}
	if _, local := c.(dist.Local); local {
		t.Fatal("mpitest.Join: the launcher's variables are missing; dist.Join returned the local communicator")
	}
	t.Cleanup(func() {
		if t.Failed() {
			fmt.Fprintf(os.Stderr, "rank %d failed: aborting the job\n", c.Rank())
			c.Abort(1)
		}
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}
