package index

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const crashEnv = "CONTRASTIVE_INDEX_CRASH_CHILD"

// TestCrashChild is the child of TestKill9DuringAddsAndCompactionsLosesNothingAcknowledged:
// it adds, deletes and compacts the store named by crashEnv until it is killed, printing each
// change once the store has acknowledged it.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("run by TestKill9DuringAddsAndCompactionsLosesNothingAcknowledged")
	}
	round := os.Getenv(crashEnv + "_ROUND")
	s, err := OpenStore(path, StoreOptions{CompactAfter: 30})
	if err != nil {
		fmt.Printf("OPENFAIL %v\n", err)
		os.Exit(3)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var acked []string
	for it := 0; ; it++ {
		b := Batch{Vectors: clustered(4, 8, 5, 0.3, rng.Uint64()), IDs: make([]string, 4)}
		for j := range b.IDs {
			b.IDs[j] = fmt.Sprintf("r%s-%d-%d", round, it, j)
		}
		if _, err := s.Add(b); err != nil {
			fmt.Printf("ERR %v\n", err)
			os.Exit(4)
		}
		fmt.Printf("ADD %s\n", strings.Join(b.IDs, " "))
		acked = append(acked, b.IDs...)
		if it%3 == 2 {
			id := acked[rng.IntN(len(acked))]
			fmt.Printf("TRYDEL %s\n", id)
			if _, err := s.Delete([]string{id}); err != nil {
				fmt.Printf("ERR %v\n", err)
				os.Exit(4)
			}
			fmt.Printf("DEL %s\n", id)
		}
		if it%17 == 16 {
			if err := s.Compact(); err != nil {
				fmt.Printf("ERR %v\n", err)
				os.Exit(4)
			}
		}
	}
}

// TestKill9DuringAddsAndCompactionsLosesNothingAcknowledged kills a child process that updates
// a store (adds, deletes, background and explicit compactions) with SIGKILL at a random moment,
// over and over; after each kill the store must open and hold every acknowledged add, and none
// of the acknowledged deletes.
func TestKill9DuringAddsAndCompactionsLosesNothingAcknowledged(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip()
	}
	rounds := 12
	if testing.Short() {
		rounds = 5
	}
	path, _ := storeFile(t, 300, 8, KindHNSW, QuantizeNone)
	present := map[string]bool{}
	for i := 0; i < 300; i++ {
		present[fmt.Sprintf("v%d", i)] = true
	}
	unknown := map[string]bool{} // changes in flight at a kill: either outcome is right
	rng := rand.New(rand.NewPCG(5, 5))
	kills := 0
	for r := 0; r < rounds; r++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path, crashEnv+"_ROUND="+strconv.Itoa(r))
		var out bytes.Buffer
		cmd.Stdout = &out
		cmd.Stderr = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			kills++
		} else {
			t.Fatalf("round %d: the child ended by itself (%v): %s", r, err, out.String())
		}
		sc := bufio.NewScanner(&out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 2 {
				continue
			}
			switch f[0] {
			case "ADD":
				for _, id := range f[1:] {
					present[id] = true
				}
			case "TRYDEL":
				unknown[f[1]] = true
			case "DEL":
				delete(unknown, f[1])
				delete(present, f[1])
			case "OPENFAIL", "ERR":
				t.Fatalf("round %d: child: %s", r, sc.Text())
			}
		}
		s, err := OpenStore(path, StoreOptions{})
		if err != nil {
			t.Fatalf("round %d: after kill -9 the store does not open: %v", r, err)
		}
		for id := range present {
			if !s.Has(id) && !unknown[id] {
				t.Fatalf("round %d: acknowledged %s is missing after kill -9", r, id)
			}
		}
		st := s.cur.Load()
		for id := range st.rows {
			if !present[id] && !unknown[id] && !strings.HasPrefix(id, fmt.Sprintf("r%d-", r)) {
				t.Fatalf("round %d: %s is present though its delete was acknowledged", r, id)
			}
			if !present[id] && !unknown[id] {
				present[id] = true // an add in flight at the kill that made it to disk
			}
		}
		for id := range unknown {
			if s.Has(id) {
				present[id] = true
			} else {
				delete(present, id)
			}
			delete(unknown, id)
		}
		if s.Len() != len(present) {
			t.Fatalf("round %d: %d items, want %d", r, s.Len(), len(present))
		}
		s.Close()
	}
	t.Logf("%d kills, %d items at the end", kills, len(present))
}
