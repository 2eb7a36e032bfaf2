package train

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/nn"
	"github.com/contrastive-go/contrastive/tensor"
)

// This file holds the data-parallel side of the trainer (Options.Comm with several ranks). Every
// rank runs the same Trainer: the same model from the same seed (or the same checkpoint), its
// share of every global batch (loader.Options.Shard), the method's global-batch terms
// (method.Config.Comm), and gradients averaged over the ranks (dist.GradAverager) before the
// same optimizer step, so that the parameters stay identical on every rank and the run is that
// of one process on the global batch. The ranks decide together — at the start (checkRanks) and
// before every step and epoch (agree) — whether to go on, so that no rank is left waiting in a
// collective for one that stopped: an error returned that way is a JobError, returned by every
// rank alike. Rank 0 alone writes the model directory and reports progress.

// JobError is an error every rank of a data-parallel run returned at the same point, having
// agreed on it (a rank could not start or read its data; a configuration mismatch; a non-finite
// loss): no rank waits for another, so the job may end normally, with rank 0 reporting it. Any
// other error of Run on several ranks is this rank's alone, and the caller must end the job
// (dist.Comm.Abort), or the other ranks would wait for it forever.
type JobError struct {
	Err error
}

func (e *JobError) Error() string { return e.Err.Error() }
func (e *JobError) Unwrap() error { return e.Err }

// SyncBN values (Config.SyncBN): synchronised BatchNorm when several processes train ("auto",
// the default, also ""), always ("on") or never ("off": per-rank statistics).
var SyncBNValues = []string{"auto", "on", "off"}

// syncBN reports whether BatchNorm statistics are synchronised on a world of size ranks.
func (c Config) syncBN(size int) bool { return size > 1 && c.SyncBN != "off" }

// distributed reports whether the run has several ranks.
func (t *Trainer) distributed() bool { return t.Comm != nil && t.Comm.Size() > 1 }

// WorldSize is the number of processes training the run (1 without a communicator).
func (t *Trainer) WorldSize() int {
	if t.Comm == nil {
		return 1
	}
	return t.Comm.Size()
}

// rank0 reports whether this process writes the model directory and reports progress.
func (t *Trainer) rank0() bool { return t.Comm == nil || t.Comm.Rank() == 0 }

// checkRanks ends New on several ranks: every rank has built its run, or failed to (buildErr).
// Rank 0 broadcasts the hashes of its configuration, of its binary and of its starting state
// (model, optimizer and method state: the seed's, or the checkpoint's on --resume); every rank
// compares them with its own, and all learn together whether a rank failed or differs.
func (t *Trainer) checkRanks(buildErr error) error {
	if !t.distributed() {
		return buildErr
	}
	if err := dist.FirstError(t.Comm, buildErr); err != nil {
		return &JobError{err}
	}
	c := t.Comm
	size, rank := c.Size(), c.Rank()
	mine := [4][sha256.Size]byte{configHash(t.Config), binaryHash(), t.stateHash(), t.mon.hash()}
	buf := make([]byte, len(mine)*sha256.Size)
	for k := range mine {
		copy(buf[k*sha256.Size:], mine[k][:])
	}
	c.Broadcast(buf, 0)
	flags := make([]float64, len(mine)*size) // per rank: another configuration, binary, state, monitor
	for k := range mine {
		if !bytes.Equal(buf[k*sha256.Size:(k+1)*sha256.Size], mine[k][:]) {
			flags[k*size+rank] = 1
		}
	}
	c.AllReduce64(flags)
	ranks := func(k int) []int {
		var out []int
		for r := range size {
			if flags[k*size+r] > 0 {
				out = append(out, r)
			}
		}
		return out
	}
	if r := ranks(1); len(r) > 0 {
		return &JobError{fmt.Errorf("%s of %d run another build of contrastive than rank 0 (the executables differ): install the same binary on every machine", rankList(r), size)}
	}
	if r := ranks(0); len(r) > 0 {
		return &JobError{fmt.Errorf("%s of %d was given another configuration than rank 0: every process of the job must get the same flags and config file", rankList(r), size)}
	}
	if r := ranks(2); len(r) > 0 {
		return &JobError{fmt.Errorf("%s of %d starts from other weights than rank 0 (on --resume: another checkpoint in --out): every rank must start from the same state", rankList(r), size)}
	}
	if r := ranks(3); len(r) > 0 { // each rank embeds its share of the monitor's images
		return &JobError{fmt.Errorf("%s of %d prepared another kNN monitor than rank 0 (its test split or labelled data differ, or could not be read): every rank needs the same data", rankList(r), size)}
	}
	return nil
}

func rankList(r []int) string {
	s := make([]string, len(r))
	for i, v := range r {
		s[i] = fmt.Sprint(v)
	}
	if len(r) == 1 {
		return "rank " + s[0]
	}
	return "ranks " + strings.Join(s, ", ")
}

// configHash is the hash of what defines the run: the configuration without the settings that
// may differ between processes without changing it (the loader's goroutines).
func configHash(c Config) [sha256.Size]byte {
	c.Workers = 0
	b, _ := json.Marshal(c)
	return sha256.Sum256(b)
}

var binHash = sync.OnceValue(func() [sha256.Size]byte {
	h := sha256.New()
	if p, err := os.Executable(); err == nil {
		if f, err := os.Open(p); err == nil {
			io.Copy(h, f)
			f.Close()
		}
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
})

// binaryHash is the hash of this process's executable file.
func binaryHash() [sha256.Size]byte { return binHash() }

// stateHash hashes the model's state dict, the optimizer's and the method's state, by name.
func (t *Trainer) stateHash() [sha256.Size]byte {
	h := sha256.New()
	for _, m := range []map[string]*tensor.Tensor{nn.StateDict(t.Model), t.Optimizer.State(), t.Method.State()} {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			io.WriteString(h, k)
			binary.Write(h, binary.LittleEndian, m[k].Data)
		}
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// ParamsHash hashes the parameters and the method state (momentum encoders, queues): equal on
// every rank after every step of a data-parallel run (tests check it).
func (t *Trainer) ParamsHash() [sha256.Size]byte {
	h := sha256.New()
	for _, p := range t.Method.Params() {
		binary.Write(h, binary.LittleEndian, p.Value.Data)
	}
	st := t.Method.State()
	keys := make([]string, 0, len(st))
	for k := range st {
		if !isRunningStat(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		binary.Write(h, binary.LittleEndian, st[k].Data)
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// isRunningStat reports BatchNorm running statistics: per rank with per-rank BatchNorm.
func isRunningStat(k string) bool {
	return strings.HasSuffix(k, ".running_mean") || strings.HasSuffix(k, ".running_var") || strings.HasSuffix(k, ".num_batches_tracked")
}

// The slots of the vector agree reduces: a count of ranks per reason to stop.
const (
	agreeInterrupt = iota
	agreeStop      // a hook called Stop
	agreeMaxTime
	agreeMaxSteps
	agreeSlots
)

// agree is the ranks' common decision before a step and before an epoch: it returns the reason
// to stop ("" to go on) that every rank returns alike, or, when a rank could not read its batch
// (loadErr on that rank), that rank's error as a JobError on every rank. Every rank calls it at
// the same points. With one process it is the local decision.
func (t *Trainer) agree(ctx context.Context, loadErr error) (string, error) {
	if !t.distributed() {
		if loadErr != nil {
			return "", loadErr
		}
		return t.stopReason(ctx), nil
	}
	if err := dist.FirstError(t.Comm, loadErr); err != nil {
		return "", &JobError{err}
	}
	c := t.Comm
	v := make([]float64, agreeSlots)
	if ctx.Err() != nil {
		v[agreeInterrupt] = 1
	}
	if t.stopWhy != "" {
		v[agreeStop] = 1
	}
	if t.Config.MaxTime > 0 && time.Since(t.start) >= time.Duration(t.Config.MaxTime) {
		v[agreeMaxTime] = 1
	}
	if t.Config.MaxSteps > 0 && t.pos.GlobalStep >= t.Config.MaxSteps {
		v[agreeMaxSteps] = 1
	}
	c.AllReduce64(v)
	switch {
	case v[agreeInterrupt] > 0:
		return "interrupted", nil
	case t.stopWhy != "":
		return t.stopWhy, nil
	case v[agreeStop] > 0:
		return "stopped on another rank", nil
	case v[agreeMaxTime] > 0:
		return "max-time", nil
	case v[agreeMaxSteps] > 0:
		return "max-steps", nil
	}
	return "", nil
}

// globalLoss is the loss of the global batch: the mean of the ranks' losses (lv on this rank).
func (t *Trainer) globalLoss(lv float64) float64 {
	if !t.distributed() {
		return lv
	}
	buf := []float32{float32(lv)}
	t.Comm.AllReduce(buf)
	return float64(buf[0]) / float64(t.Comm.Size())
}

// averageGrads ends the backward pass of a data-parallel step: every gradient is replaced by its
// mean over the ranks (the buckets already started during the pass, with overlap).
func (t *Trainer) averageGrads() {
	if t.avg == nil {
		return
	}
	t.avg.Wait()
	s := t.avg.Stats()
	t.commStats.Bytes += s.Bytes
	t.commStats.Buckets += s.Buckets
	t.commStats.Wait += s.Wait
	t.commStats.Copy += s.Copy
}

// CommStats is the gradient averaging of this leg of the run so far: bytes handed to the
// all-reduce, all-reduce calls, and the time spent waiting for them after the backward pass and
// packing the buckets (zero with one process).
func (t *Trainer) CommStats() dist.Stats { return t.commStats }
