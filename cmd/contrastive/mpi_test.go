//go:build linux || darwin || freebsd

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/contrastive-go/contrastive/modeldir"
	"github.com/contrastive-go/contrastive/models"
)

// These tests run the train command under a real mpirun: the test binary, re-executed with
// CONTRASTIVE_TEST_MAIN=1, is the CLI on every rank (see TestMain).

// mpiTrainArgs is a small data-parallel run on the Fashion-MNIST test images shipped in the
// binary: a tiny CNN, global batch 64, SGD (its steps do not amplify rounding as Adam's do, so
// runs on different numbers of processes can be compared step by step).
func mpiTrainArgs(out string, extra ...string) []string {
	return append([]string{"train", "--data", "fashion-mnist:embedded", "--out", out, "--batch-size", "64",
		"--model", "small-cnn", "--channels", "8,16", "--strides", "2,2", "--pool-grid", "1", "--proj-dim", "16", "--proj-hidden", "32",
		"--optimizer", "sgd", "--lr", "0.01", "--knn-every", "-1", "--log-every", "1", "--workers", "1"}, extra...)
}

// mpiJob is one mpirun command line: apps are the ranks' command lines (several: Open MPI's
// MPMD form, one rank each), each the CLI's arguments.
type mpiJob struct {
	np   int
	args []string // launcher arguments
	env  []string
	exe  string // the binary (default: this test binary)
	apps [][]string
}

func (j mpiJob) command(ctx context.Context, t *testing.T) *exec.Cmd {
	t.Helper()
	path, err := exec.LookPath("mpirun")
	if err != nil {
		t.Skip("mpirun not found: install Open MPI (apt-get install openmpi-bin) to run the data-parallel CLI tests")
	}
	exe := j.exe
	if exe == "" {
		exe = os.Args[0]
	}
	env := append([]string{"CONTRASTIVE_TEST_MAIN=1", "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1", "GOMAXPROCS=1"}, j.env...)
	args := []string{"--oversubscribe"}
	for _, e := range env {
		args = append(args, "-x", e)
	}
	args = append(args, j.args...)
	if len(j.apps) == 1 {
		args = append(append(args, "-np", fmt.Sprint(j.np), exe), j.apps[0]...)
	} else {
		for i, a := range j.apps {
			if i > 0 {
				args = append(args, ":")
			}
			e := exe
			if a[0] == "@exe" { // another binary for this rank
				e, a = a[1], a[2:]
			}
			args = append(append(args, "-np", "1", e), a...)
		}
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// run runs the job to its end (at most limit) and returns its exit status, stdout and
// stderr, and how long it took.
func (j mpiJob) run(t *testing.T, limit time.Duration) (int, string, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := j.command(ctx, t)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("mpirun %v did not end within %v (a hang); stderr:\n%s", j.apps, limit, errb.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String(), time.Since(start)
}

func stepLosses(t *testing.T, dir string) map[int]float64 {
	t.Helper()
	lines, err := modeldir.ReadMetrics(filepath.Join(dir, modeldir.MetricsFile))
	if err != nil {
		t.Error(err)
	}
	out := map[int]float64{}
	for _, l := range lines {
		if v, ok := l["loss"]; ok {
			out[int(l["step"])] = v
		}
		if l["world_size"] == 0 {
			t.Errorf("metrics line %v has no world_size", l)
		}
	}
	return out
}

// TestTrainUnderMPIRun: `mpirun -np 2 contrastive train --json` trains one model: rank 0 alone
// prints the progress (naming the 2 processes) and the result (world_size 2), and writes the
// model directory; its losses are those of one process on the same global batch.
func TestTrainUnderMPIRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr, d := mpiJob{np: 2, apps: [][]string{mpiTrainArgs(out, "--max-steps", "12", "--json")}}.run(t, 3*time.Minute)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	t.Logf("2 ranks, 12 steps: %.1fs", d.Seconds())
	var res struct {
		Steps     int `json:"steps"`
		WorldSize int `json:"world_size"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("stdout %q: want one JSON result (rank 0's): %v", stdout, err)
	}
	if res.WorldSize != 2 || res.Steps != 12 {
		t.Errorf("result: world_size %d, steps %d; want 2, 12", res.WorldSize, res.Steps)
	}
	if n := strings.Count(stderr, "training simclr on"); n != 1 {
		t.Errorf("the start line appears %d times, want once (rank 0 reports):\n%s", n, stderr)
	}
	if !strings.Contains(stderr, "img/s on 2 processes") || !strings.Contains(stderr, "on 2 processes (Open MPI") {
		t.Errorf("the progress does not name the 2 processes:\n%s", stderr)
	}
	var cfg struct {
		WorldSize int    `json:"world_size"`
		SyncBN    string `json:"sync-bn"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(out, modeldir.ConfigFile))), &cfg); err != nil || cfg.WorldSize != 2 {
		t.Errorf("config.json: world_size %d (%v), want 2", cfg.WorldSize, err)
	}
	got := stepLosses(t, out)
	one := filepath.Join(t.TempDir(), "one")
	mustRun(t, mpiTrainArgs(one, "--max-steps", "12")...)
	want := stepLosses(t, one)
	if len(got) != 12 || len(want) != 12 {
		t.Fatalf("%d and %d step losses, want 12 each (one writer)", len(got), len(want))
	}
	for s, w := range want {
		if r := math.Abs(got[s]-w) / w; !(r <= 1e-5) {
			t.Errorf("step %d: loss %.7g on 2 ranks, %.7g on one process (relative %.2g)", s, got[s], w, r)
		}
	}
}

// TestMPIRanksMustAgree: ranks given other flags, or running another binary, stop together at
// the start with one sentence from rank 0; so does a rank whose data is missing, named.
func TestMPIRanksMustAgree(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "contrastive-other")
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, append(b, "another build"...), 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "no-such-data")
	for _, c := range []struct {
		name string
		apps [][]string
		want string
	}{
		{"flags", [][]string{mpiTrainArgs(filepath.Join(dir, "a"), "--max-steps", "2"), mpiTrainArgs(filepath.Join(dir, "a"), "--max-steps", "2", "--lr", "0.1")},
			"rank 1 of 2 was given another configuration than rank 0"},
		{"binary", [][]string{mpiTrainArgs(filepath.Join(dir, "b"), "--max-steps", "2"), append([]string{"@exe", other}, mpiTrainArgs(filepath.Join(dir, "b"), "--max-steps", "2")...)},
			"rank 1 of 2 run another build of contrastive than rank 0"},
		{"data", [][]string{mpiTrainArgs(filepath.Join(dir, "c"), "--max-steps", "2"), append(mpiTrainArgs(filepath.Join(dir, "c"), "--max-steps", "2"), "--data", missing)},
			fmt.Sprintf("rank 1 of 2: opening dataset %q: stat %s: no such file", missing, missing)},
	} {
		code, stdout, stderr, d := mpiJob{apps: c.apps}.run(t, 2*time.Minute)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code == 0 || strings.Count(stderr, "contrastive train: ") != 1 || !strings.Contains(stderr, "contrastive train: "+c.want) || strings.Contains(stdout, "trained") {
			t.Errorf("%s: exit %d after %.1fs, stderr:\n%s\nwant a failure with one line from rank 0 containing %q", c.name, code, d.Seconds(), stderr, c.want)
			continue
		}
		for _, l := range lines {
			if strings.HasPrefix(l, "contrastive train: ") {
				t.Logf("%s: exit %d after %.1fs: %s", c.name, code, d.Seconds(), l)
			}
		}
	}
}

// TestMPIWithoutUsableLibrary: launched by mpirun (or with its variables set) but with no
// usable MPI library, train says so in one sentence and exits non-zero.
func TestMPIWithoutUsableLibrary(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x")
	for _, lib := range []string{"/nonexistent/libmpi.so.40", "libc.so.6"} {
		code, msg := runProcess(t, []string{"OMPI_COMM_WORLD_SIZE=2", "OMPI_COMM_WORLD_RANK=0", "CONTRASTIVE_MPI_LIB=" + lib}, mpiTrainArgs(out, "--max-steps", "1")...)
		if code == 0 || strings.Count(strings.TrimSpace(msg), "\n") > 0 || !strings.Contains(msg, "started by an MPI launcher (OMPI_COMM_WORLD_SIZE=2)") || !strings.Contains(msg, lib) {
			t.Errorf("%s: exit %d, %q; want one sentence naming the launcher and the library", lib, code, msg)
		}
	}
	code, _, stderr, _ := mpiJob{np: 2, env: []string{"CONTRASTIVE_MPI_LIB=/nonexistent/libmpi.so.40"}, apps: [][]string{mpiTrainArgs(out, "--max-steps", "1")}}.run(t, time.Minute)
	if code == 0 || !strings.Contains(stderr, "contrastive train: started by an MPI launcher (OMPI_COMM_WORLD_SIZE=2) but CONTRASTIVE_MPI_LIB=/nonexistent/libmpi.so.40 cannot be loaded") {
		t.Errorf("under mpirun without the library: exit %d, stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a run without MPI wrote its model directory")
	}
}

// rankPID finds the process of rank r of the job whose command line names out.
func rankPID(t *testing.T, r int, out string) int {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cmdline, _ := os.ReadFile(filepath.Join(p, "cmdline"))
		env, _ := os.ReadFile(filepath.Join(p, "environ"))
		if bytes.Contains(cmdline, []byte(out)) && bytes.Contains(env, []byte(fmt.Sprintf("\x00OMPI_COMM_WORLD_RANK=%d\x00", r))) {
			var pid int
			fmt.Sscan(filepath.Base(p), &pid)
			return pid
		}
	}
	return 0
}

// TestMPIRankKilled: a rank killed with SIGKILL mid-run ends the whole job within 30 s with a
// message (no rank hangs in a collective); the last checkpoint loads, and --resume on one
// process continues the run to the losses of an uninterrupted one-process run. (40 steps: the
// runs agree to 1e-6 relative through step 56, but on an AMD EPYC (Zen 4) steps 57–60 amplify
// the ranks' rounding differences tenfold a step, to 2.8e-4; a resume that lost any state would
// differ from its first step.)
func TestMPIRankKilled(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("needs /proc to find the rank's process")
	}
	out := filepath.Join(t.TempDir(), "killed")
	const steps = 40
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := mpiJob{np: 2, apps: [][]string{mpiTrainArgs(out, "--max-steps", fmt.Sprint(steps), "--checkpoint-every", "1ms")}}.command(ctx, t)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) { // a few steps checkpointed: kill rank 1
		if lines, _ := modeldir.ReadMetrics(filepath.Join(out, modeldir.MetricsFile)); len(lines) >= 5 {
			pid = rankPID(t, 1, out)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if pid == 0 {
		cmd.Process.Kill()
		t.Fatalf("rank 1 never trained 5 steps (or was not found); stderr:\n%s", errb.String())
	}
	killed := time.Now()
	syscall.Kill(pid, syscall.SIGKILL)
	err := cmd.Wait()
	took := time.Since(killed)
	if ctx.Err() != nil || took > 30*time.Second {
		t.Fatalf("the job took %v to end after rank 1 was killed (want under 30 s)", took)
	}
	if err == nil || !strings.Contains(errb.String(), "exited on signal 9") {
		t.Fatalf("killed job: %v, stderr:\n%s\nwant a failure whose message names the killed rank", err, errb.String())
	}
	t.Logf("rank 1 killed: the job ended in %.1fs: %s", took.Seconds(), lastLines(errb.String(), 6))
	code, stdout, stderr := runCLI(append(mpiTrainArgs(out, "--max-steps", fmt.Sprint(steps), "--json"), "--resume")...)
	if code != 0 || !strings.Contains(stderr, "checkpointed on 2 processes and resumes on 1") {
		t.Fatalf("--resume after the kill: exit %d, stderr:\n%s", code, stderr)
	}
	var res struct {
		Steps int `json:"steps"`
	}
	json.Unmarshal([]byte(stdout), &res)
	if res.Steps != steps {
		t.Fatalf("resumed run: %d steps, want %d", res.Steps, steps)
	}
	one := filepath.Join(t.TempDir(), "one")
	mustRun(t, mpiTrainArgs(one, "--max-steps", fmt.Sprint(steps))...)
	want, got := stepLosses(t, one), stepLosses(t, out)
	if len(got) != steps {
		t.Fatalf("the resumed run logged %d step losses, want %d", len(got), steps)
	}
	worst := 0.0
	for s, w := range want {
		worst = max(worst, math.Abs(got[s]-w)/w)
	}
	if !(worst <= 1e-5) {
		t.Errorf("2 ranks killed and resumed on 1 against one process throughout: losses differ by %.2g relative (> 1e-5)", worst)
	}
	t.Logf("resumed on one process: %d steps, losses within %.2g of an uninterrupted run", steps, worst)
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], " | ")
}

// TestTrainAloneLoadsNoMPI: run without a launcher, train loads no MPI library (glibc's
// LD_DEBUG=files lists every library the process loads; version, which looks for them, does).
func TestTrainAloneLoadsNoMPI(t *testing.T) {
	code, out := runProcess(t, []string{"LD_DEBUG=files"}, "version")
	if code != 0 || !strings.Contains(out, "file=") {
		t.Skip("LD_DEBUG=files lists nothing here (not glibc's loader)")
	}
	if !strings.Contains(out, "file=libmpi") && !strings.Contains(out, "file=libmpich") {
		t.Skip("no MPI library on this machine: nothing to tell apart")
	}
	code, out = runProcess(t, []string{"LD_DEBUG=files"}, mpiTrainArgs(filepath.Join(t.TempDir(), "alone"), "--max-steps", "1")...)
	if code != 0 {
		t.Fatalf("train alone: exit %d\n%s", code, lastLines(out, 5))
	}
	if strings.Contains(out, "file=libmpi") || strings.Contains(out, "file=libmpich") {
		t.Error("train without mpirun loaded an MPI library")
	}
}

// TestMPIRankSignalled: SIGTERM to one rank (a scheduler preempting a job, a user's Ctrl-C
// reaching one process) stops every rank after the same step: the checkpoint is saved, rank 0
// says so, the job exits 143 without MPI_Abort, and --resume goes on from that step.
func TestMPIRankSignalled(t *testing.T) {
	out := filepath.Join(t.TempDir(), "signalled")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := mpiJob{np: 2, apps: [][]string{mpiTrainArgs(out, "--max-steps", "400")}}.command(ctx, t)
	var stdout, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if lines, _ := modeldir.ReadMetrics(filepath.Join(out, modeldir.MetricsFile)); len(lines) >= 5 {
			pid = rankPID(t, 1, out)
			break
		}
	}
	if pid == 0 {
		cmd.Process.Kill()
		t.Fatalf("rank 1 never trained 5 steps (or was not found); stderr:\n%s", errb.String())
	}
	syscall.Kill(pid, syscall.SIGTERM)
	err := cmd.Wait()
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	msg := errb.String()
	if code != 143 || !strings.Contains(msg, "contrastive train: interrupted by terminated on another rank after step ") || strings.Contains(msg, "MPI_ABORT") || strings.Contains(msg, "ending the job") {
		t.Fatalf("SIGTERM to rank 1: exit %d (%v), stderr:\n%s\nwant 143 and rank 0's message, no abort", code, err, lastLines(msg, 12))
	}
	var step int
	fmt.Sscanf(msg[strings.Index(msg, "after step ")+len("after step "):], "%d", &step)
	cp, err := modeldirPosition(out)
	if err != nil || cp != step || !strings.Contains(stdout.String(), "stopped: interrupted") {
		t.Fatalf("checkpoint at step %d (%v), the message says %d; stdout %q", cp, err, step, stdout.String())
	}
	t.Logf("rank 1 got SIGTERM: every rank stopped after step %d with a checkpoint, exit 143", step)
	code, _, stderr := runCLI(append(mpiTrainArgs(out, "--max-steps", fmt.Sprint(step+3)), "--resume")...)
	if code != 0 || !strings.Contains(stderr, fmt.Sprintf("resuming at epoch 1/6, step %d/", step+1)) {
		t.Fatalf("--resume after the signal: exit %d, stderr:\n%s", code, stderr)
	}
}

// modeldirPosition is the global step of the checkpoint in dir (from the weights' metadata).
func modeldirPosition(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, modeldir.WeightsFile))
	if err != nil {
		return 0, err
	}
	_, meta, err := models.Load(b)
	if err != nil {
		return 0, err
	}
	var step int
	_, err = fmt.Sscan(meta["global_step"], &step)
	return step, err
}
