//go:build linux || darwin || freebsd

package dist_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/internal/mpitest"
)

// collectives checks every collective of c against values computed from the rank numbers.
func collectives(t *testing.T, c dist.Comm) {
	r, n := c.Rank(), c.Size()
	// All-reduce: element i of rank r is i + 1000·r (exact in float32), summed over ranks.
	for _, size := range []int{1, 7, 1 << 20} {
		buf := make([]float32, size)
		for i := range buf {
			buf[i] = float32(i%4096 + 1000*r)
		}
		c.AllReduce(buf)
		for i, v := range buf {
			if want := float32(n*(i%4096) + 1000*n*(n-1)/2); v != want {
				t.Fatalf("rank %d: AllReduce of %d floats: [%d] = %v, want %v", r, size, i, v, want)
			}
		}
	}
	b64 := []float64{1e-17 + float64(r), 1}
	c.AllReduce64(b64)
	if want := float64(n*(n-1)/2) + float64(n)*1e-17; math.Abs(b64[0]-want) > 1e-15 || b64[1] != float64(n) {
		t.Fatalf("rank %d: AllReduce64 = %v", r, b64)
	}
	// Several all-reduces in flight at once complete, in order, with the right sums.
	reqs := make([]*dist.Request, 4)
	bufs := make([][]float32, 4)
	for k := range reqs {
		bufs[k] = make([]float32, 1000*(k+1))
		for i := range bufs[k] {
			bufs[k][i] = float32(k + r)
		}
		reqs[k] = c.IAllReduce(bufs[k])
	}
	for k, q := range reqs {
		q.Wait()
		if want := float32(n*k + n*(n-1)/2); bufs[k][0] != want || bufs[k][len(bufs[k])-1] != want {
			t.Fatalf("rank %d: IAllReduce %d = %v, want %v", r, k, bufs[k][0], want)
		}
	}
	// All-gather: rank r sends [r, r+0.5, ...].
	src := make([]float32, 5)
	for i := range src {
		src[i] = float32(r) + float32(i)/2
	}
	dst := make([]float32, 5*n)
	c.AllGather(dst, src)
	for s := range n {
		for i := range 5 {
			if got, want := dst[s*5+i], float32(s)+float32(i)/2; got != want {
				t.Fatalf("rank %d: AllGather [%d] = %v, want %v", r, s*5+i, got, want)
			}
		}
	}
	// Broadcast from the last rank.
	msg := []byte("------")
	if r == n-1 {
		copy(msg, "hello!")
	}
	c.Broadcast(msg, n-1)
	if string(msg) != "hello!" {
		t.Fatalf("rank %d: Broadcast gave %q", r, msg)
	}
	c.Barrier()
}

// TestMPICollectives runs every collective on 3 ranks under Open MPI's mpirun (shared memory).
func TestMPICollectives(t *testing.T) {
	if !mpitest.Rank() {
		mpitest.Run(t, mpitest.Job{NP: 3})
		return
	}
	c := mpitest.Join(t)
	if !strings.Contains(c.Name(), "Open MPI") {
		t.Errorf("Name() = %q, want Open MPI's version", c.Name())
	}
	collectives(t, c)
	// MPI did not take over the signals Go uses: a nil dereference is still a recoverable panic.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a nil dereference did not panic after MPI_Init")
			}
		}()
		var p *int
		fmt.Fprint(nilWriter{}, *p)
	}()
}

type nilWriter struct{}

func (nilWriter) Write(b []byte) (int, error) { return len(b), nil }

// TestMPIOverTCP forces Open MPI's TCP transport, so the network path runs on loopback.
func TestMPIOverTCP(t *testing.T) {
	if !mpitest.Rank() {
		mpitest.Run(t, mpitest.Job{NP: 2, Args: []string{"--mca", "btl", "self,tcp"}})
		return
	}
	collectives(t, mpitest.Join(t))
}

// TestMPIChunksLargeCounts: buffers longer than the largest count one call takes (a C int;
// lowered here) go in several calls with the same result.
func TestMPIChunksLargeCounts(t *testing.T) {
	if !mpitest.Rank() {
		mpitest.Run(t, mpitest.Job{NP: 2})
		return
	}
	defer dist.SetMaxCount(3)()
	collectives(t, mpitest.Join(t))
}

// TestMPICH runs the collectives under MPICH's mpiexec (Hydra) with libmpich.so.12: its integer
// handles and MPI_IN_PLACE = (void*)−1.
func TestMPICH(t *testing.T) {
	if !mpitest.Rank() {
		if _, err := exec.LookPath("mpiexec.mpich"); err != nil {
			t.Skip("mpiexec.mpich not found: install MPICH (apt-get install --no-install-recommends mpich) to test its handle table")
		}
		mpitest.Run(t, mpitest.Job{NP: 2, Launcher: "mpiexec.mpich"})
		return
	}
	c := mpitest.Join(t)
	if !strings.Contains(c.Name(), "MPICH") {
		t.Errorf("Name() = %q, want MPICH's version", c.Name())
	}
	collectives(t, c)
}

// TestMPIKilledRankEndsTheJob: a rank killed with SIGKILL while the others wait for it in a
// collective does not hang the job: the launcher ends every rank within seconds, non-zero.
func TestMPIKilledRankEndsTheJob(t *testing.T) {
	if !mpitest.Rank() {
		start := time.Now()
		mpitest.Run(t, mpitest.Job{NP: 3, WantFailure: true, Timeout: 60 * time.Second})
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("the job took %v to end after a rank was killed, want under 30 s", d)
		}
		return
	}
	c := mpitest.Join(t)
	buf := make([]float32, 1000)
	c.AllReduce(buf)
	if c.Rank() == 1 {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	for range 1000 { // the others wait for rank 1 here until the launcher ends them
		c.AllReduce(buf)
	}
	t.Errorf("rank %d: all-reduces completed without rank 1", c.Rank())
}

// TestMPIIAllReduceReturnsAtOnce: IAllReduce queues its call and returns even while earlier ones
// wait for another rank. Rank 0 starts four all-reduces and only then writes a file; rank 1
// joins the all-reduces once the file exists — a deadlock if IAllReduce waited.
func TestMPIIAllReduceReturnsAtOnce(t *testing.T) {
	const dirEnv = "CONTRASTIVE_MPITEST_DIR"
	if !mpitest.Rank() {
		mpitest.Run(t, mpitest.Job{NP: 2, Env: []string{dirEnv + "=" + t.TempDir()}, Timeout: time.Minute})
		return
	}
	c := mpitest.Join(t)
	flag := filepath.Join(os.Getenv(dirEnv), "started")
	bufs := make([][]float32, 4)
	reqs := make([]*dist.Request, 4)
	if c.Rank() == 1 {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := os.Stat(flag); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("rank 0 did not return from its IAllReduce calls: they wait for the MPI thread")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for k := range reqs {
		bufs[k] = []float32{float32(k)}
		reqs[k] = c.IAllReduce(bufs[k])
	}
	if c.Rank() == 0 {
		if err := os.WriteFile(flag, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for k, r := range reqs {
		r.Wait()
		if bufs[k][0] != float32(2*k) {
			t.Errorf("all-reduce %d = %v, want %d", k, bufs[k][0], 2*k)
		}
	}
}

// TestMPIFirstError: every rank learns the lowest failing rank's error, its message broadcast.
func TestMPIFirstError(t *testing.T) {
	if !mpitest.Rank() {
		mpitest.Run(t, mpitest.Job{NP: 3})
		return
	}
	c := mpitest.Join(t)
	if err := dist.FirstError(c, nil); err != nil {
		t.Fatalf("rank %d: FirstError with no failure = %v", c.Rank(), err)
	}
	own := fmt.Errorf("disk of rank %d gone", c.Rank())
	var mine error
	if c.Rank() > 0 {
		mine = own
	}
	err := dist.FirstError(c, mine)
	var re *dist.RankError
	if !errors.As(err, &re) || re.Rank != 1 || re.Size != 3 || err.Error() != "rank 1 of 3: disk of rank 1 gone" {
		t.Fatalf("rank %d: FirstError = %v, want rank 1's error", c.Rank(), err)
	}
	if c.Rank() == 1 && !errors.Is(err, own) {
		t.Errorf("rank 1: FirstError does not wrap its own error")
	}
}

// TestMPIWaitingRankSleeps: a rank that waits 1.5 s for another in an all-reduce spends little
// CPU time doing so (polled waits), where the library's blocking call spins for all of it; the
// results are the same either way.
func TestMPIWaitingRankSleeps(t *testing.T) {
	const modeEnv = "CONTRASTIVE_MPITEST_WAIT_MODE"
	if !mpitest.Rank() {
		for _, mode := range []string{"poll", "spin"} {
			mpitest.Run(t, mpitest.Job{NP: 2, Env: []string{dist.WaitEnv + "=" + mode, modeEnv + "=" + mode}, Timeout: time.Minute})
		}
		return
	}
	c := mpitest.Join(t)
	mode := os.Getenv(modeEnv)
	if polled := strings.Contains(c.Name(), "polled waits"); polled != (mode == "poll") {
		t.Fatalf("%s=%s: Name() = %q", dist.WaitEnv, mode, c.Name())
	}
	collectives(t, c)
	buf := []float32{1}
	if c.Rank() == 1 {
		time.Sleep(1500 * time.Millisecond)
	}
	cpu0 := cpuTime()
	c.AllReduce(buf)
	cpu := cpuTime() - cpu0
	if buf[0] != 2 {
		t.Fatalf("all-reduce = %v, want 2", buf[0])
	}
	if c.Rank() == 0 {
		t.Logf("%s: rank 0 used %v of CPU waiting 1.5 s for rank 1", mode, cpu)
		if mode == "poll" && cpu > 400*time.Millisecond {
			t.Errorf("polled waits: rank 0 used %v of CPU waiting 1.5 s for rank 1, want under 0.4 s", cpu)
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
