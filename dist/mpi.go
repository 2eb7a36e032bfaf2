//go:build linux || darwin || freebsd

package dist

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
)

// LibEnv names the environment variable that picks the MPI library file (its ABI is recognised
// from its symbols); without it the sonames of abis are tried.
const LibEnv = "CONTRASTIVE_MPI_LIB"

// mpiLib is a loaded MPI library: its functions and its resolved handles.
type mpiLib struct {
	abi  abi
	path string // the file the loader mapped
	h    uintptr

	world, float, double, byte, sum uintptr

	initThread, finalize, commRank, commSize, allreduce, allgather, bcast, barrier, abort, libVersion uintptr

	// MPI_Ibarrier and MPI_Test, for polled waits (0 when the library lacks them).
	ibarrier, test uintptr
}

// openLib dlopens the first loadable library of the ABIs (or the file named by LibEnv) and
// resolves its functions and handles.
func openLib(order []abi, flags int) (*mpiLib, error) {
	if p := os.Getenv(LibEnv); p != "" {
		h, err := purego.Dlopen(p, flags)
		if err != nil {
			return nil, fmt.Errorf("%s=%s cannot be loaded: %v", LibEnv, p, err)
		}
		// The ABI whose probe symbol the library exports, else the one without a probe (MPICH's).
		var a abi
		for _, x := range order {
			if _, err := purego.Dlsym(h, x.probe); x.probe == "" && a.name == "" || x.probe != "" && err == nil {
				a = x
			}
		}
		return resolve(a, h, p)
	}
	var tried, errs []string
	for _, a := range order {
		for _, name := range a.libs {
			h, err := purego.Dlopen(name, flags)
			if err != nil {
				tried = append(tried, name)
				errs = append(errs, err.Error())
				continue
			}
			return resolve(a, h, name)
		}
	}
	return nil, fmt.Errorf("no MPI library was found (tried %s; last error: %s)", strings.Join(tried, ", "), errs[len(errs)-1])
}

func resolve(a abi, h uintptr, name string) (*mpiLib, error) {
	l := &mpiLib{abi: a, h: h, path: mappedPath(name)}
	fns := []struct {
		name string
		p    *uintptr
	}{
		{"MPI_Init_thread", &l.initThread}, {"MPI_Finalize", &l.finalize}, {"MPI_Comm_rank", &l.commRank},
		{"MPI_Comm_size", &l.commSize}, {"MPI_Allreduce", &l.allreduce}, {"MPI_Allgather", &l.allgather},
		{"MPI_Bcast", &l.bcast}, {"MPI_Barrier", &l.barrier}, {"MPI_Abort", &l.abort},
		{"MPI_Get_library_version", &l.libVersion},
	}
	for _, f := range fns {
		p, err := purego.Dlsym(h, f.name)
		if err != nil {
			return nil, fmt.Errorf("%s is not a usable MPI library (%s ABI): it has no %s", l.path, a.name, f.name)
		}
		*f.p = p
	}
	for _, f := range []struct {
		name string
		p    *uintptr
	}{{"MPI_Ibarrier", &l.ibarrier}, {"MPI_Test", &l.test}} {
		*f.p, _ = purego.Dlsym(h, f.name)
	}
	hs := []struct {
		h handle
		p *uintptr
	}{{a.world, &l.world}, {a.float, &l.float}, {a.double, &l.double}, {a.byte, &l.byte}, {a.sum, &l.sum}}
	for _, x := range hs {
		if x.h.sym == "" {
			*x.p = x.h.val
			continue
		}
		p, err := purego.Dlsym(h, x.h.sym)
		if err != nil {
			return nil, fmt.Errorf("%s is not a usable MPI library (%s ABI): it has no %s", l.path, a.name, x.h.sym)
		}
		*x.p = p
	}
	return l, nil
}

// mappedPath is the file the loader mapped for name (from /proc/self/maps on Linux), or name.
func mappedPath(name string) string {
	base := filepath.Base(name)
	if i := strings.Index(base, ".so"); i > 0 {
		base = base[:i+3]
	}
	if maps, err := os.ReadFile("/proc/self/maps"); err == nil {
		for _, line := range strings.Split(string(maps), "\n") {
			if i := strings.Index(line, "/"); i >= 0 && strings.Contains(filepath.Base(line[i:]), base) {
				return line[i:]
			}
		}
	}
	if p, err := filepath.EvalSymlinks(name); err == nil {
		return p
	}
	return name
}

// version returns the first line of MPI_Get_library_version (callable before MPI_Init).
func (l *mpiLib) version() string {
	buf := make([]byte, 8192) // MPI_MAX_LIBRARY_VERSION_STRING: 256 in Open MPI, 8192 in MPICH
	var n int32
	rc, _, _ := purego.SyscallN(l.libVersion, uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)))
	runtime.KeepAlive(buf)
	if int32(rc) != 0 || n <= 0 || int(n) > len(buf) {
		return l.abi.name
	}
	s := strings.TrimRight(string(buf[:n]), "\x00")
	if i := strings.IndexAny(s, "\n\r"); i >= 0 {
		s = s[:i]
	}
	s = strings.Join(strings.Fields(s), " ") // MPICH's reads "MPICH Version:\t4.0.2"
	if s == "" {
		return l.abi.name
	}
	return s
}

// Library describes the MPI libraries this machine has, one per line ("Open MPI v4.1.4, ...
// (/usr/lib/x86_64-linux-gnu/libmpi.so.40.30.4)"), without initialising them; the error says
// what was tried when there is none. The CLI's version command prints it.
func Library() (string, error) {
	var lines []string
	var errs []string
	if os.Getenv(LibEnv) != "" {
		l, err := openLib(abis, purego.RTLD_LAZY|purego.RTLD_LOCAL)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s (%s, from %s)", l.version(), l.path, LibEnv), nil
	}
	for _, a := range abis {
		l, err := openLib([]abi{a}, purego.RTLD_LAZY|purego.RTLD_LOCAL)
		if err != nil {
			errs = append(errs, a.name+": "+err.Error())
			continue
		}
		lines = append(lines, fmt.Sprintf("%s (%s)", l.version(), l.path))
	}
	if len(lines) == 0 {
		return "", errors.New(strings.Join(errs, "; "))
	}
	return strings.Join(lines, "\n"), nil
}

// mpiComm is the world communicator of an MPI job. Every MPI call runs on one goroutine locked
// to its OS thread (the thread that called MPI_Init_thread), in the order the calls were made.
type mpiComm struct {
	lib        *mpiLib
	rank, size int
	multiple   bool // MPI_THREAD_MULTIPLE granted: Abort may call from any thread
	name       string

	poll bool // collectives wait by polling MPI_Test with short sleeps (WaitEnv)

	mu     sync.Mutex // guards closed and sending on ops
	closed bool
	ops    chan func()
	exited chan struct{}
}

// queueLen is how many calls may wait for the MPI thread before a caller blocks: IAllReduce
// returns at once (with the bucket all-reduces of a backward pass queued behind each other).
const queueLen = 1 << 12

// joinMPI loads the library for the launcher, initialises MPI and checks the world it sees is
// the one the launcher started.
func joinMPI(l Launcher) (Comm, error) {
	lib, err := openLib(abiOrder(l.Kind), purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("started by an MPI launcher (%s) but %v; install Open MPI (apt-get install openmpi-bin) or MPICH (apt-get install mpich), or name the library in %s", l.Var, err, LibEnv)
	}
	c := &mpiComm{lib: lib, ops: make(chan func(), queueLen), exited: make(chan struct{})}
	switch w := os.Getenv(WaitEnv); w {
	case "", "poll":
		c.poll = lib.ibarrier != 0 && lib.test != 0
	case "spin":
	default:
		return nil, fmt.Errorf("%s=%q: want poll or spin", WaitEnv, w)
	}
	ready := make(chan error)
	go c.loop(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	if l.Size >= 0 && c.size != l.Size {
		c.Close()
		return nil, fmt.Errorf("the launcher started %d processes (%s) but %s (%s) sees a world of %d: the library does not belong to this launcher (Open MPI's mpirun needs libmpi.so.40, MPICH's mpiexec libmpich.so.12)", l.Size, l.Var, lib.abi.name, lib.path, c.size)
	}
	c.name = fmt.Sprintf("%s (%s), rank %d of %d", lib.version(), lib.path, c.rank, c.size)
	if c.poll {
		c.name += ", polled waits"
	}
	return c, nil
}

// loop is the MPI thread: it initialises MPI, reports to ready, runs the queued calls and ends
// with MPI_Finalize when ops is closed.
func (c *mpiComm) loop(ready chan<- error) {
	runtime.LockOSThread()
	defer close(c.exited)
	l := c.lib
	var provided int32
	rc, _, _ := purego.SyscallN(l.initThread, 0, 0, threadMultiple, uintptr(unsafe.Pointer(&provided)))
	if int32(rc) != 0 {
		ready <- fmt.Errorf("MPI_Init_thread of %s (%s) failed with error %d", l.abi.name, l.path, int32(rc))
		return
	}
	c.multiple = provided >= threadMultiple
	var rank, size int32
	purego.SyscallN(l.commRank, l.world, uintptr(unsafe.Pointer(&rank)))
	purego.SyscallN(l.commSize, l.world, uintptr(unsafe.Pointer(&size)))
	c.rank, c.size = int(rank), int(size)
	ready <- nil
	for f := range c.ops {
		f()
	}
	purego.SyscallN(l.finalize)
}

// do runs f on the MPI thread and waits for it.
func (c *mpiComm) do(f func()) { c.start(f).Wait() }

// start queues f on the MPI thread and returns its request.
func (c *mpiComm) start(f func()) *Request {
	done := make(chan struct{})
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		panic("dist: MPI communicator used after Close")
	}
	c.ops <- func() { f(); close(done) }
	return &Request{done: done}
}

// check panics when an MPI call failed (with MPI_ERRORS_ARE_FATAL, the default, the library
// aborts the job before returning an error).
func check(fn string, rc uintptr) {
	if int32(rc) != 0 {
		panic(fmt.Sprintf("dist: %s returned MPI error %d", fn, int32(rc)))
	}
}

func (c *mpiComm) Rank() int    { return c.rank }
func (c *mpiComm) Size() int    { return c.size }
func (c *mpiComm) Name() string { return c.name }

func (c *mpiComm) AllReduce(buf []float32) { c.IAllReduce(buf).Wait() }

func (c *mpiComm) IAllReduce(buf []float32) *Request {
	if len(buf) == 0 {
		return doneRequest()
	}
	return c.start(func() { c.allreduce(unsafe.Pointer(&buf[0]), len(buf), 4, c.lib.float); runtime.KeepAlive(buf) })
}

func (c *mpiComm) AllReduce64(buf []float64) {
	if len(buf) == 0 {
		return
	}
	c.do(func() { c.allreduce(unsafe.Pointer(&buf[0]), len(buf), 8, c.lib.double); runtime.KeepAlive(buf) })
}

// allreduce sums n elements of elem bytes at p in place, in chunks of at most maxCount.
func (c *mpiComm) allreduce(p unsafe.Pointer, n, elem int, typ uintptr) {
	for off := 0; off < n; off += maxCount {
		k := min(maxCount, n-off)
		c.arrive()
		rc, _, _ := purego.SyscallN(c.lib.allreduce, c.lib.abi.inPlace, uintptr(unsafe.Add(p, off*elem)), uintptr(k), typ, c.lib.sum, c.lib.world)
		check("MPI_Allreduce", rc)
	}
}

func (c *mpiComm) AllGather(dst, src []float32) {
	n := len(src)
	if len(dst) != c.size*n {
		panic(fmt.Sprintf("dist.AllGather: dst has %d values, want %d·%d", len(dst), c.size, n))
	}
	if n == 0 {
		return
	}
	c.do(func() {
		chunk := max(1, maxCount/c.size)
		if n <= chunk {
			c.allgather(unsafe.Pointer(&src[0]), unsafe.Pointer(&dst[0]), n)
			return
		}
		// Counts are C ints: gather chunk columns at a time into tmp, then put each rank's piece
		// where it belongs.
		tmp := make([]float32, c.size*chunk)
		for off := 0; off < n; off += chunk {
			k := min(chunk, n-off)
			c.allgather(unsafe.Pointer(&src[off]), unsafe.Pointer(&tmp[0]), k)
			for r := range c.size {
				copy(dst[r*n+off:r*n+off+k], tmp[r*k:(r+1)*k])
			}
		}
	})
	runtime.KeepAlive(src)
	runtime.KeepAlive(dst)
}

func (c *mpiComm) allgather(src, dst unsafe.Pointer, k int) {
	c.arrive()
	rc, _, _ := purego.SyscallN(c.lib.allgather, uintptr(src), uintptr(k), c.lib.float,
		uintptr(dst), uintptr(k), c.lib.float, c.lib.world)
	check("MPI_Allgather", rc)
}

// Polled waits: a rank that waits for the others in a blocking collective spins in the library
// (Open MPI's shared-memory and TCP transports poll), taking a core that, on a machine with more
// processes than cores, the rank it waits for could use. So, with poll, each collective first
// waits for every rank to arrive — an MPI_Ibarrier whose MPI_Test is polled, spinning for
// pollSpin and then sleeping between tests, pollMin doubling up to pollMax — and then runs the
// blocking call, which finds everyone there and spins only for the transfer. (Polling the
// non-blocking collective itself makes large ones slow: Open MPI progresses them only inside
// MPI_Test, one round per test — a 470 KB all-reduce of 2 ranks took 2.5 ms instead of 0.1.)
// The barrier costs a few microseconds; the sleeps add at most pollMax to a wait that was long.
const (
	pollSpin = 100 * time.Microsecond
	pollMin  = 10 * time.Microsecond
	pollMax  = 200 * time.Microsecond
)

// arrive returns once every rank has reached this collective (polled; nothing without poll).
func (c *mpiComm) arrive() {
	if !c.poll {
		return
	}
	c.wait("MPI_Ibarrier", func(req uintptr) uintptr {
		rc, _, _ := purego.SyscallN(c.lib.ibarrier, c.lib.world, req)
		return rc
	})
}

// WaitEnv names the environment variable that selects how collectives wait: "poll" (the
// default, when the library has MPI_Ibarrier and MPI_Test) or "spin" (the blocking calls alone).
const WaitEnv = "CONTRASTIVE_MPI_WAIT"

// wait runs start(&request), the non-blocking call fn, and polls the request to completion.
func (c *mpiComm) wait(fn string, start func(req uintptr) uintptr) {
	var req [8]byte // an MPI_Request: a pointer (Open MPI) or an int (MPICH)
	check(fn, start(uintptr(unsafe.Pointer(&req[0]))))
	var flag int32
	t0 := time.Now()
	sleep := pollMin
	for {
		rc, _, _ := purego.SyscallN(c.lib.test, uintptr(unsafe.Pointer(&req[0])), uintptr(unsafe.Pointer(&flag)), c.lib.abi.statusIgnore)
		check("MPI_Test", rc)
		if flag != 0 {
			break
		}
		if time.Since(t0) < pollSpin {
			continue
		}
		time.Sleep(sleep)
		sleep = min(2*sleep, pollMax)
	}
	runtime.KeepAlive(&req)
}

func (c *mpiComm) Broadcast(buf []byte, root int) {
	if root < 0 || root >= c.size {
		panic(fmt.Sprintf("dist.Broadcast: root %d outside a world of %d", root, c.size))
	}
	if len(buf) == 0 {
		return
	}
	c.do(func() {
		for off := 0; off < len(buf); off += maxCount {
			k := min(maxCount, len(buf)-off)
			c.arrive()
			rc, _, _ := purego.SyscallN(c.lib.bcast, uintptr(unsafe.Pointer(&buf[off])), uintptr(k), c.lib.byte, uintptr(root), c.lib.world)
			check("MPI_Bcast", rc)
		}
	})
	runtime.KeepAlive(buf)
}

func (c *mpiComm) Barrier() {
	c.do(func() {
		if c.poll {
			c.arrive()
			return
		}
		rc, _, _ := purego.SyscallN(c.lib.barrier, c.lib.world)
		check("MPI_Barrier", rc)
	})
}

func (c *mpiComm) Abort(code int) {
	if c.multiple {
		purego.SyscallN(c.lib.abort, c.lib.world, uintptr(code))
	} else {
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if !closed {
			select {
			case c.ops <- func() { purego.SyscallN(c.lib.abort, c.lib.world, uintptr(code)) }:
				select { // MPI_Abort does not return; the MPI thread may be stuck in a collective
				case <-c.exited:
				case <-time.After(10 * time.Second):
				}
			default:
			}
		}
	}
	os.Exit(code)
}

func (c *mpiComm) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.ops)
	c.mu.Unlock()
	<-c.exited
	return nil
}
