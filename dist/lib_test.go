//go:build linux

package dist

import (
	"strings"
	"testing"
)

// TestJoinWithoutUsableLibrary: under a launcher, a missing or broken library is one sentence
// naming it.
func TestJoinWithoutUsableLibrary(t *testing.T) {
	t.Setenv("OMPI_COMM_WORLD_SIZE", "2")
	t.Setenv("OMPI_COMM_WORLD_RANK", "0")
	for _, c := range []struct{ lib, want string }{
		{"/nonexistent/libmpi.so.40", "cannot be loaded"},
		{"libc.so.6", "is not a usable"},
	} {
		t.Setenv(LibEnv, c.lib)
		comm, err := Join()
		if err == nil {
			comm.Close()
			t.Fatalf("Join with %s=%s succeeded", LibEnv, c.lib)
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, "OMPI_COMM_WORLD_SIZE=2") || strings.Count(msg, "\n") > 0 {
			t.Errorf("Join with %s: error %q should be one line saying %q and naming the launcher", c.lib, msg, c.want)
		}
		t.Log(msg)
	}
}

func TestOpenLibListsWhatItTried(t *testing.T) {
	t.Setenv(LibEnv, "")
	_, err := openLib([]abi{{name: "Nope", libs: []string{"libnope-a.so.1", "libnope-b.so.2"}}}, 2)
	if err == nil || !strings.Contains(err.Error(), "libnope-a.so.1, libnope-b.so.2") {
		t.Fatalf("openLib of missing libraries: %v", err)
	}
}
