package dist

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want Launcher
	}{
		{"nothing", nil, Launcher{Rank: -1, Size: -1}},
		{"user settings are not a launcher", map[string]string{"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_MCA_btl": "self,tcp"}, Launcher{Rank: -1, Size: -1}},
		{"open mpi", map[string]string{"OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_RANK": "2", "PMIX_RANK": "2"},
			Launcher{Kind: "openmpi", Rank: 2, Size: 4, Var: "OMPI_COMM_WORLD_SIZE=4"}},
		{"pmix", map[string]string{"PMIX_RANK": "1"}, Launcher{Kind: "pmix", Rank: 1, Size: -1, Var: "PMIX_RANK=1"}},
		{"hydra", map[string]string{"PMI_RANK": "0", "PMI_SIZE": "2", "PMI_FD": "6"}, Launcher{Kind: "mpich", Rank: 0, Size: 2, Var: "PMI_SIZE=2"}},
		{"unreadable size", map[string]string{"PMI_SIZE": "two"}, Launcher{Kind: "mpich", Rank: -1, Size: -1, Var: "PMI_SIZE=two"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := detect(func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
			if got != c.want {
				t.Errorf("detect(%v) = %+v, want %+v", c.env, got, c.want)
			}
			if got.Launched() != (c.want.Kind != "") {
				t.Errorf("Launched() = %v", got.Launched())
			}
		})
	}
}

func TestLocalCollectivesLeaveDataAsItIs(t *testing.T) {
	var c Comm = Local{}
	if c.Rank() != 0 || c.Size() != 1 || c.Name() != "local" {
		t.Fatalf("Local: rank %d size %d name %q", c.Rank(), c.Size(), c.Name())
	}
	buf := []float32{1, -2, 3}
	c.AllReduce(buf)
	c.IAllReduce(buf).Wait()
	b64 := []float64{0.5}
	c.AllReduce64(b64)
	if buf[0] != 1 || buf[1] != -2 || buf[2] != 3 || b64[0] != 0.5 {
		t.Errorf("AllReduce over one rank changed the data: %v %v", buf, b64)
	}
	dst := make([]float32, 3)
	c.AllGather(dst, buf)
	if dst[0] != 1 || dst[2] != 3 {
		t.Errorf("AllGather over one rank = %v, want %v", dst, buf)
	}
	c.Broadcast([]byte("x"), 0)
	c.Barrier()
	defer func() {
		if recover() == nil {
			t.Error("AllGather into a wrong-sized dst did not panic")
		}
	}()
	c.AllGather(make([]float32, 2), buf)
}

// TestJoinOutsideMPILoadsNothing: run without a launcher, Join is Local and no MPI library is
// mapped into the process.
func TestJoinOutsideMPILoadsNothing(t *testing.T) {
	for _, v := range []string{"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"} {
		if _, ok := os.LookupEnv(v); ok {
			t.Skipf("%s is set: this test runs outside MPI", v)
		}
	}
	c, err := Join()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(Local); !ok {
		t.Fatalf("Join outside MPI = %T, want Local", c)
	}
	if maps, err := os.ReadFile("/proc/self/maps"); err == nil {
		for _, lib := range []string{"libmpi.so", "libmpich.so"} {
			if strings.Contains(string(maps), lib) {
				t.Errorf("%s is mapped although no launcher started the test", lib)
			}
		}
	}
}

// TestLibrary: version reporting finds the installed MPI without initialising it.
func TestLibrary(t *testing.T) {
	s, err := Library()
	if err != nil {
		t.Skipf("no MPI library on this machine (%v); apt-get install openmpi-bin", err)
	}
	if !strings.Contains(s, "MPI") || !strings.Contains(s, "/") {
		t.Errorf("Library() = %q, want a version and a path", s)
	}
	t.Log(s)
}

func TestFirstErrorOfOneProcess(t *testing.T) {
	e := errors.New("x")
	if FirstError(Local{}, e) != e || FirstError(Local{}, nil) != nil {
		t.Error("FirstError on one process must return its own error")
	}
}
