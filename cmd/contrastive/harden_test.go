package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/modeldir"
)

// tinyTrainArgs trains the small test model on dir into out.
func tinyTrainArgs(dataDir, out string, extra ...string) []string {
	return append([]string{"train", "--data", dataDir, "--out", out, "--batch-size", "32", "--channels", "8,16",
		"--strides", "2,2", "--proj-dim", "16", "--proj-hidden", "32", "--knn-every", "-1", "--log-every", "1", "--workers", "2"}, extra...)
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := runCLI(args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errs)
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// snapshot is the content of every file in dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		m[e.Name()] = readFile(t, filepath.Join(dir, e.Name()))
	}
	return m
}

func TestResumeReadsAndWritesOutNotTheRecordedDirectory(t *testing.T) {
	dataDir := embedTestFolder(t, 3, 30) // 90 images: 2 steps per epoch at batch 32
	root := t.TempDir()
	orig := filepath.Join(root, "run")
	mustRun(t, tinyTrainArgs(dataDir, orig, "--epochs", "2", "--max-steps", "1")...)
	before := snapshot(t, orig)

	// A copy resumed must leave the original alone.
	cp := filepath.Join(root, "copy")
	if err := os.CopyFS(cp, os.DirFS(orig)); err != nil {
		t.Fatal(err)
	}
	var res struct{ Steps int }
	json.Unmarshal([]byte(mustRun(t, "train", "--resume", "--out", cp, "--max-steps", "3", "--json")), &res)
	if res.Steps != 3 {
		t.Errorf("the resumed copy trained to step %d, want 3", res.Steps)
	}
	if after := snapshot(t, orig); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("resuming a copy changed the original directory")
	}
	if got := len(losses(t, cp)); got != 3 {
		t.Errorf("the copy's metrics hold %d steps, want 3 (1 copied + 2 resumed)", got)
	}

	// A moved run resumes where it now is, and nothing reappears at the old path.
	moved := filepath.Join(root, "moved")
	if err := os.Rename(orig, moved); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "train", "--resume", "--out", moved, "--max-steps", "2")
	if _, err := os.Stat(orig); !os.IsNotExist(err) {
		t.Errorf("resuming a moved run recreated %s", orig)
	}
	if got := len(losses(t, moved)); got != 2 {
		t.Errorf("the moved run's metrics hold %d steps, want 2", got)
	}
}

func losses(t *testing.T, dir string) []float64 {
	t.Helper()
	lines, err := modeldir.ReadMetrics(filepath.Join(dir, modeldir.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, l := range lines {
		if v, ok := l["loss"]; ok {
			out = append(out, v)
		}
	}
	return out
}

func TestTrainRefusesADirectoryHoldingAModelUnlessOverwrite(t *testing.T) {
	dataDir := embedTestFolder(t, 3, 30)
	out := filepath.Join(t.TempDir(), "run")
	mustRun(t, tinyTrainArgs(dataDir, out, "--epochs", "1")...)
	os.Remove(filepath.Join(out, modeldir.CheckpointFile)) // deleted to save space
	before := snapshot(t, out)
	code, _, errs := runCLI(tinyTrainArgs(dataDir, out, "--epochs", "1", "--seed", "2")...)
	if code == 0 || !strings.Contains(errs, "already holds a trained model") || !strings.Contains(errs, "--overwrite") {
		t.Fatalf("training into a directory with a model: exit %d, %q; want a refusal naming --overwrite", code, errs)
	}
	if after := snapshot(t, out); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the refused run changed the directory")
	}
	mustRun(t, tinyTrainArgs(dataDir, out, "--epochs", "1", "--seed", "2", "--overwrite")...)
	if readFile(t, filepath.Join(out, modeldir.WeightsFile)) == before[modeldir.WeightsFile] {
		t.Errorf("--overwrite did not replace the model")
	}
}

func TestResumeKeepsTheStoredConfigurationAndRefusesChanges(t *testing.T) {
	dataDir := embedTestFolder(t, 3, 30) // 2 steps per epoch
	out := filepath.Join(t.TempDir(), "run")
	mustRun(t, tinyTrainArgs(dataDir, out, "--epochs", "1", "--max-steps", "1", "--lr", "0.002")...)

	// No --epochs: the run keeps its 1 epoch (not the flag default), and its learning rate.
	var res struct {
		Epochs int `json:"epochs_done"`
		Steps  int
	}
	json.Unmarshal([]byte(mustRun(t, "train", "--resume", "--out", out, "--json")), &res)
	if res.Epochs != 1 || res.Steps != 2 {
		t.Errorf("resumed without --epochs: %d epochs, %d steps; want the stored 1 epoch (2 steps)", res.Epochs, res.Steps)
	}
	var stored struct {
		Epochs int     `json:"epochs"`
		LR     float64 `json:"lr"`
	}
	json.Unmarshal([]byte(readFile(t, filepath.Join(out, modeldir.ConfigFile))), &stored)
	if stored.Epochs != 1 || stored.LR != 0.002 {
		t.Errorf("config.json after resume: epochs %d, lr %g; want 1 and 0.002", stored.Epochs, stored.LR)
	}

	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--method", "byol"}, "--method byol differs from the run's simclr"},
		{[]string{"--lr", "0.1"}, "--lr 0.1 differs"},
		{[]string{"--temperature", "0.5"}, "--temperature"},
		{[]string{"--channels", "8,32"}, "describe another model"},
		{[]string{"--model", "resnet18"}, "describe another model"},
		{[]string{"--overwrite"}, "give one of them"},
	} {
		code, _, errs := runCLI(append([]string{"train", "--resume", "--out", out}, c.flags...)...)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("resume with %v: exit %d, %q; want a refusal containing %q", c.flags, code, errs, c.want)
		}
	}
	// Repeating an original flag changes nothing and is accepted; --epochs extends the run.
	json.Unmarshal([]byte(mustRun(t, "train", "--resume", "--out", out, "--channels", "8,16", "--lr", "0.002", "--epochs", "2", "--json")), &res)
	if res.Epochs != 2 || res.Steps != 4 {
		t.Errorf("resumed with --epochs 2: %d epochs, %d steps; want 2 and 4", res.Epochs, res.Steps)
	}
	// Nothing left to train: no "final loss" of a step that did not run.
	code, stdout, errs := runCLI("train", "--resume", "--out", out)
	if code != 0 || !strings.Contains(stdout, "no step trained") || strings.Contains(stdout, "final loss") {
		t.Errorf("resuming a finished run: exit %d, %q %q; want a note that no step was trained", code, stdout, errs)
	}
}

func TestInterruptedTrainingCheckpointsAndExits130(t *testing.T) {
	dataDir := embedTestFolder(t, 3, 30)
	out := filepath.Join(t.TempDir(), "run")
	// Orphans of a killed writer must be removed at the start.
	os.MkdirAll(out, 0o755)
	orphan := filepath.Join(out, ".model.safetensors.tmp-123")
	os.WriteFile(orphan, []byte("torn"), 0o644)

	done := make(chan int)
	var errs string
	go func() {
		code, _, e := runCLI(tinyTrainArgs(dataDir, out, "--epochs", "1000")...)
		errs = e
		done <- code
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if b, err := os.ReadFile(filepath.Join(out, modeldir.MetricsFile)); err == nil && bytes.Count(b, []byte("\n")) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("training never logged a step")
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	var code int
	select {
	case code = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the run did not stop after SIGINT")
	}
	if code != 130 || !strings.Contains(errs, "interrupted by interrupt") || !strings.Contains(errs, "--resume") {
		t.Errorf("after SIGINT: exit %d, stderr %q; want 130 and a note to --resume", code, errs)
	}
	if _, err := os.Stat(filepath.Join(out, modeldir.CheckpointFile)); err != nil {
		t.Errorf("no checkpoint after the interruption: %v", err)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("the orphan temporary file %s was not removed", orphan)
	}
}

// badValues are values every flag of its kind must refuse, by the kind of its default.
var badFlagValues = map[string][]string{
	"train/lr": {"Inf", "NaN", "0", "-1"}, "train/temperature": {"NaN", "Inf", "0", "-0.1"},
	"train/weight-decay": {"NaN", "Inf", "-1"}, "train/warmup-epochs": {"-1", "NaN", "13"},
	"train/pool-grid": {"0", "-2", "9"}, "train/proj-dim": {"0", "-3"}, "train/proj-hidden": {"0", "-3"},
	"train/image-size": {"0", "-1", "100000"}, "train/checkpoint-every": {"0", "-1s"}, "train/max-time": {"0", "-5m"},
	"train/epochs": {"0", "-1", "x"}, "train/batch-size": {"1", "0"}, "train/sgd-momentum": {"1", "-0.5", "NaN"},
	"train/ema-momentum": {"1", "0", "1.5"}, "train/queue-size": {"0", "-1"}, "train/workers": {"-1"},
	"train/knn-every": {"-2"}, "train/monitor-size": {"0"}, "train/log-every": {"0"}, "train/max-steps": {"0", "-1"},
	"train/channels": {"0,8", "8,-1", "a", ","}, "train/strides": {"0", "x"}, "train/seed": {"-1", "x"},
	"train/method": {"nope"}, "train/optimizer": {"rmsprop"}, "train/schedule": {"step"}, "train/augment": {"bogus"},
	"train/model": {"vgg"}, "train/head": {"mlp9"}, "train/lambda": {"0", "NaN", "Inf"}, "train/local-crops": {"-1"},
	"train/local-size": {"0", "-1"}, "train/sync-bn": {"maybe", "true"}, "train/precision": {"fp16", "bfloat16"}, "train/pred-hidden": {"0", "-1"}, "train/prototypes": {"1", "0"},
	"eval/holdout": {"0", "1", "NaN", "-0.2"}, "eval/linear-epochs": {"-1"}, "eval/image-size": {"0", "5000"}, "eval/seed": {"x"},
	"embed/image-size": {"0"}, "embed/format": {"xml"},
	"index/batch-size": {"0", "-1"}, "index/image-size": {"0"}, "index/kind": {"ivf", ""}, "index/m": {"1", "0", "257", "x"},
	"index/ef-construction": {"0", "-5", "70000"}, "index/ef-search": {"0", "x"}, "index/quantize": {"pq", "int4"},
	"plot/max-points": {"3", "0"}, "plot/perplexity": {"0", "NaN", "Inf"}, "plot/image-size": {"-1"}, "plot/seed": {"x"},
	"serve/max-body-bytes": {"0", "-1"}, "serve/max-pixels": {"0"}, "serve/max-images": {"0"}, "serve/max-k": {"0"},
	"serve/concurrency": {"-1"}, "serve/queue-timeout": {"0", "-1s"}, "serve/max-queued": {"0"},
	"serve/compact-after": {"-1", "x"}, "serve/max-items": {"-1"}, "serve/ef-search": {"-1", "70000"}, "serve/recall-sample": {"-0.1", "1.5", "NaN"},
	"serve/token-file": {"/nonexistent/token"},
	"bench/steps":      {"0"}, "bench/model": {"vgg"}, "bench/warmup": {"-1"}, "bench/batch": {"1"}, "bench/gemm": {"cublas"}, "bench/precision": {"fp16", "BF16"},
	"demo/epochs": {"0", "-1"}, "demo/max-time": {"0"},
}

// flagsWithoutBadValues are flags with no invalid value (booleans, free text checked where used).
var flagsWithoutBadValues = map[string]bool{
	"train/data": true, "train/out": true, "train/config": true, "eval/model": true, "eval/data": true,
	"embed/model": true, "embed/data": true, "embed/out": true, "index/model": true, "index/data": true,
	"index/out": true, "plot/model": true, "plot/data": true, "plot/out": true, "serve/model": true,
	"serve/index": true, "serve/addr": true, "demo/out": true, "index/compact": true, "serve/protect-reads": true,
}

// TestEveryFlagRefusesBadValuesWithOneSentence runs every command over a table of bad values
// for each of its flags: each must end with one line naming the flag and a non-zero exit, never
// a panic, and never train, write or serve anything. A new flag must be added to the table.
func TestEveryFlagRefusesBadValuesWithOneSentence(t *testing.T) {
	dataDir := embedTestFolder(t, 2, 16)
	model := filepath.Join(t.TempDir(), "m")
	mustRun(t, tinyTrainArgs(dataDir, model, "--epochs", "1")...)
	base := map[string][]string{
		"train": {"--data", "fashion-mnist:embedded", "--out", filepath.Join(t.TempDir(), "never"), "--max-steps", "1"},
		"eval":  {"--model", model, "--data", dataDir}, "embed": {"--model", model, "--data", dataDir, "--out", filepath.Join(t.TempDir(), "e.npy")},
		"index": {"--model", model, "--data", dataDir, "--out", filepath.Join(t.TempDir(), "x.idx")},
		"plot":  {"--model", model, "--out", t.TempDir()}, "serve": {"--model", model, "--index", filepath.Join(t.TempDir(), "none.idx")},
		"bench": {"--steps", "1", "--warmup", "0", "--batch", "2"}, "demo": {"--out", filepath.Join(t.TempDir(), "d")},
	}
	var names []string
	for name := range base {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		bindForTest(name, fs)
		fs.VisitAll(func(f *flag.Flag) {
			key := name + "/" + f.Name
			_, isBool := f.Value.(interface{ IsBoolFlag() bool })
			bad, ok := badFlagValues[key]
			if !ok {
				if !isBool && !flagsWithoutBadValues[key] && f.Name != "json" {
					t.Errorf("%s has no bad values in the table", key)
				}
				return
			}
			for _, v := range bad {
				args := append(append([]string{name}, base[name]...), "--"+f.Name, v)
				code, stdout, errs := runCLI(args...)
				lines := strings.Split(strings.TrimSpace(errs), "\n")
				last := lines[len(lines)-1]
				switch {
				case code == 0:
					t.Errorf("%s %s: exit 0, want a refusal", key, v)
				case strings.Contains(errs, "goroutine ") || strings.Contains(errs, "panic") || strings.Contains(errs, "internal error"):
					t.Errorf("%s %s: a stack trace reached the user: %q", key, v, errs)
				case !strings.HasPrefix(last, "contrastive "+name+": ") || !strings.Contains(last, f.Name) && !strings.Contains(last, v):
					t.Errorf("%s %s: the last line %q should name the flag or the value", key, v, last)
				case strings.Contains(stdout, "trained") || strings.Contains(stdout, "wrote"):
					t.Errorf("%s %s: refused but worked anyway: %q", key, v, stdout)
				}
			}
		})
	}
}

// bindForTest defines a command's flags on fs, to list them: the command is run with --help,
// which returns after its flags are bound and before any work.
func bindForTest(name string, fs *flag.FlagSet) {
	commands[name].run([]string{"--help"}, io.Discard, io.Discard)
	lastFlagSet.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
}

// TestMain lets a test run the command as a separate process (for settings read once per
// process, such as CONTRASTIVE_GEMM): the test binary re-executed with CONTRASTIVE_TEST_MAIN=1
// is the CLI.
func TestMain(m *testing.M) {
	if os.Getenv("CONTRASTIVE_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func runProcess(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "CONTRASTIVE_TEST_MAIN=1"), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

func TestAForcedGEMMBackendThatCannotRunIsAnError(t *testing.T) {
	for _, c := range []struct {
		env, want string
	}{
		{"CONTRASTIVE_GEMM=bogus", `"bogus" names no GEMM backend`},
		{"CONTRASTIVE_GEMM=openblas", "OpenBLAS cannot be used"},
		{"CONTRASTIVE_CONV=fft", `CONTRASTIVE_CONV="fft" names no convolution algorithm`},
		{"CONTRASTIVE_PRECISION=fp16", `CONTRASTIVE_PRECISION="fp16": want fp32 or bf16`},
	} {
		env := []string{c.env}
		if c.env == "CONTRASTIVE_GEMM=openblas" {
			env = append(env, "CONTRASTIVE_OPENBLAS=/nonexistent/libopenblas.so.0", "LD_LIBRARY_PATH=/nonexistent")
		}
		for _, cmd := range [][]string{{"version"}, {"train", "--data", "fashion-mnist:embedded", "--out", filepath.Join(t.TempDir(), "x"), "--max-steps", "1"}} {
			code, out := runProcess(t, env, cmd...)
			if code == 0 || !strings.Contains(out, c.want) {
				t.Errorf("%s %v: exit %d, %q; want a refusal containing %q", c.env, cmd, code, out, c.want)
			}
		}
	}
	code, out := runProcess(t, []string{"CONTRASTIVE_GEMM=go"}, "version")
	if code != 0 || !strings.Contains(out, "GEMM backend: go") || !strings.Contains(out, "CONTRASTIVE_GEMM=go") {
		t.Errorf("version with CONTRASTIVE_GEMM=go: exit %d, %q; want the backend and why it was chosen", code, out)
	}
}

// CONTRASTIVE_PRECISION=bf16 switches the convolutions to bfloat16 unless --precision says
// otherwise, and version and bench say which precision ran.
func TestPrecisionFromTheEnvironmentAndTheFlag(t *testing.T) {
	if err := autodiff.CheckPrecision("bf16"); err != nil {
		t.Skipf("no bf16 here: %v", err)
	}
	bench := []string{"bench", "--steps", "1", "--warmup", "0", "--batch", "2", "--json"}
	for _, c := range []struct {
		env  string
		args []string
		want string
	}{
		{"CONTRASTIVE_PRECISION=bf16", bench, `"precision":"bf16"`},
		{"CONTRASTIVE_PRECISION=bf16", append(bench, "--precision", "fp32"), `"precision":"fp32"`},
		{"CONTRASTIVE_PRECISION=", append(bench, "--precision", "bf16"), `"precision":"bf16"`},
		{"CONTRASTIVE_PRECISION=", bench, `"precision":"fp32"`},
		{"CONTRASTIVE_PRECISION=bf16", []string{"version"}, "convolutions: bf16"},
		{"CONTRASTIVE_PRECISION=", []string{"version"}, "convolutions: fp32 (this CPU has AVX512_BF16"},
	} {
		code, out := runProcess(t, []string{c.env}, c.args...)
		if code != 0 || !strings.Contains(out, c.want) {
			t.Errorf("%s %v: exit %d, %q; want %q", c.env, c.args, code, out, c.want)
		}
	}
}

func TestVectorDataTrainsTheMLPWithSCARF(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("a,b,c,d,e,f,label\n")
	for i := 0; i < 96; i++ {
		c := i % 3
		fmt.Fprintf(&b, "%d,%d.5,%d,1,%d,0.%d,%d\n", c, i%7, c*2, i%5, i%9, c)
	}
	csvPath := writeFile(t, dir, "v.csv", b.String())
	out := filepath.Join(dir, "mlp")
	mustRun(t, "train", "--data", csvPath, "--model", "mlp", "--augment", "scarf", "--epochs", "1", "--batch-size", "32", "--out", out, "--knn-every", "-1")
	if _, err := os.Stat(filepath.Join(out, modeldir.WeightsFile)); err != nil {
		t.Errorf("no model after training the mlp on vectors: %v", err)
	}
	code, _, errs := runCLI("train", "--data", csvPath, "--model", "small-cnn", "--epochs", "1", "--batch-size", "32", "--out", filepath.Join(dir, "cnn"))
	if code == 0 || !strings.Contains(errs, "--model mlp") {
		t.Errorf("a CNN on vectors: exit %d, %q; want a refusal pointing to --model mlp", code, errs)
	}
	// The defaults (--model auto --augment auto) choose the mlp and SCARF for vectors.
	code, _, errs = runCLI("train", "--data", csvPath, "--epochs", "1", "--batch-size", "32", "--out", filepath.Join(dir, "auto"), "--knn-every", "-1")
	if code != 0 || !strings.Contains(errs, "auto: --model mlp --augment scarf") {
		t.Errorf("the defaults on vectors: exit %d, %q; want the mlp with SCARF, said at the start", code, errs)
	}
}

func TestMixedImageSizesAreReportedInTheCommandsFlags(t *testing.T) {
	dataDir := embedTestFolder(t, 2, 16)
	model := filepath.Join(t.TempDir(), "m")
	mustRun(t, tinyTrainArgs(dataDir, model, "--epochs", "1")...)
	// One image of another size.
	img := image.NewGray(image.Rect(0, 0, 40, 30))
	f, _ := os.Create(filepath.Join(dataDir, "class0", "big.png"))
	png.Encode(f, img)
	f.Close()
	tmp := t.TempDir()
	for _, args := range [][]string{
		{"eval", "--model", model, "--data", dataDir},
		{"embed", "--model", model, "--data", dataDir, "--out", filepath.Join(tmp, "e.npy")},
		{"index", "--model", model, "--data", dataDir, "--out", filepath.Join(tmp, "x.idx")},
	} {
		code, _, errs := runCLI(args...)
		if code == 0 || !strings.Contains(errs, "mixed image sizes") || !strings.Contains(errs, "--image-size") || strings.Contains(errs, "Width") {
			t.Errorf("%s on mixed sizes: exit %d, %q; want a message naming --image-size", args[0], code, errs)
		}
		mustRun(t, append(args, "--image-size", "28")...)
	}
}

// TestDefaultsFitAFolderOfMixedSizeRGBPhotos: with no model, augmentation or size flag, a folder
// of RGB JPEGs of several sizes trains; the settings chosen are printed with their reason and
// recorded in config.json.
func TestDefaultsFitAFolderOfMixedSizeRGBPhotos(t *testing.T) {
	root := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 6))
	sizes := [][2]int{{120, 90}, {90, 120}, {150, 100}, {100, 100}, {130, 110}}
	for c, class := range []string{"cats", "dogs"} {
		os.MkdirAll(filepath.Join(root, class), 0o755)
		for i := 0; i < 10; i++ {
			sz := sizes[(i+c)%len(sizes)]
			img := image.NewRGBA(image.Rect(0, 0, sz[0], sz[1]))
			for p := 0; p < len(img.Pix); p += 4 {
				img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = uint8(rng.IntN(256)), uint8(80*c), uint8(rng.IntN(128)), 255
			}
			f, _ := os.Create(filepath.Join(root, class, fmt.Sprintf("%02d.jpg", i)))
			jpeg.Encode(f, img, nil)
			f.Close()
		}
	}
	out := filepath.Join(t.TempDir(), "pets")
	code, _, errs := runCLI("train", "--data", root, "--out", out, "--epochs", "1", "--batch-size", "8", "--max-steps", "1",
		"--channels", "4,4,8,8", "--knn-every", "-1")
	if code != 0 {
		t.Fatalf("train on mixed-size RGB photos with the defaults: exit %d: %s", code, errs)
	}
	for _, want := range []string{"auto: --image-size 96", "differ in size", "auto: --model resnet18 --augment simclr", "ImageNet stem"} {
		if !strings.Contains(errs, want) {
			t.Errorf("the start of the run should say %q: %s", want, errs)
		}
	}
	var cfg struct {
		Augment   string `json:"augment"`
		ImageSize int    `json:"image-size"`
		Model     struct {
			Name       string `json:"name"`
			InChannels int    `json:"in_channels"`
		} `json:"resolved_model"`
	}
	json.Unmarshal([]byte(readFile(t, filepath.Join(out, modeldir.ConfigFile))), &cfg)
	if cfg.Augment != "simclr" || cfg.ImageSize != 96 || cfg.Model.Name != "resnet18" || cfg.Model.InChannels != 3 {
		t.Errorf("config.json records %+v; want simclr, 96, resnet18 on 3 channels", cfg)
	}
	// The model directory embeds the same folder without any size flag.
	mustRun(t, "embed", "--model", out, "--data", root, "--out", filepath.Join(t.TempDir(), "e.npy"))
}
