// Command contrastive trains, evaluates and serves contrastive representation models.
//
//	contrastive demo                      train SimCLR on Fashion-MNIST for a few minutes, then evaluate
//	contrastive train --method simclr ... pretrain an encoder without labels
//	contrastive eval --model DIR ...      kNN, linear probe, alignment and uniformity
//	contrastive embed --model DIR ...     write embeddings (npy, csv or safetensors)
//	contrastive bench                     the reference SimCLR step in images/s and GEMM GFLOP/s
//	contrastive plot --model DIR          loss/kNN curves and a 2-D embedding map as PNG
//	contrastive index / serve             similarity search over an embedded collection
//
// Every subcommand takes --help; --json prints machine-readable results on stdout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/train"
)

// command is one subcommand: run parses its own flags from args.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(name, summary string, run func(args []string, stdout, stderr io.Writer) error) {
	commands[name] = command{summary: summary, run: run}
}

// errUsage marks an error already explained by the flag package's usage output.
var errUsage = errors.New("usage")

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: contrastive <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'contrastive <command> --help' for a command's flags.")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		// A bug must still end in one sentence, not a stack trace (CONTRASTIVE_TRACEBACK=1 shows it).
		if r := recover(); r != nil {
			if os.Getenv("CONTRASTIVE_TRACEBACK") != "" {
				panic(r)
			}
			fmt.Fprintf(stderr, "contrastive %s: internal error: %v (please report it; CONTRASTIVE_TRACEBACK=1 prints the stack)\n", strings.Join(args[:min(1, len(args))], ""), r)
			code = 70
		}
	}()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "contrastive: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if err := blas.Check(); err != nil {
		fmt.Fprintf(stderr, "contrastive %s: %s\n", args[0], err)
		return 1
	}
	if err := autodiff.ConvEnvError(); err != nil {
		fmt.Fprintf(stderr, "contrastive %s: %s\n", args[0], err)
		return 1
	}
	if err := cmd.run(args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if errors.Is(err, errUsage) {
			return 2
		}
		var se silentExit
		if errors.As(err, &se) {
			return se.code
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "contrastive %s: %s (see 'contrastive %s --help')\n", args[0], ue.msg, args[0])
			return 2
		}
		msg := strings.TrimSpace(err.Error())
		if errors.Is(err, data.ErrMixedSizes) {
			msg += "; pass --image-size N to resize every image to N×N"
		}
		fmt.Fprintf(stderr, "contrastive %s: %s\n", args[0], msg)
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

// usageError is a bad command line: one sentence, exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitError carries an exit status other than 1 (130 and 143 after SIGINT and SIGTERM).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// lastFlagSet is the FlagSet newFlags made last (tests list a command's flags through it).
var lastFlagSet *flag.FlagSet

// newFlags returns a FlagSet that reports errors instead of exiting.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	lastFlagSet = fs
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: contrastive %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args. --help prints the usage; a bad flag or value is a usageError of one
// sentence (the flag package's own message, without the usage that it would print).
func parse(fs *flag.FlagSet, args []string) error {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
			return err
		}
		msg := strings.Replace(err.Error(), "for flag -", "for --", 1)
		msg = strings.Replace(msg, "flag provided but not defined: -", "unknown flag --", 1)
		return usageError{msg}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q (flags start with --)", fs.Arg(0))}
	}
	return nil
}

// setFlags is the set of flags given on the command line (or by a config file).
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// interruptible returns a context cancelled by SIGINT or SIGTERM, with the signal as its cause.
func interruptible() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			cancel(signalCause{s})
		case <-ctx.Done():
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel(nil) }
}

type signalCause struct{ sig os.Signal }

func (s signalCause) Error() string { return "interrupted by " + s.sig.String() }

// interruption turns a run stopped by a signal into the exit status tools use (128 + signal:
// 130 for SIGINT, 143 for SIGTERM), after the result has been reported and saved.
func interruption(ctx context.Context, res *train.Result) error {
	var sc signalCause
	if !errors.As(context.Cause(ctx), &sc) {
		return nil
	}
	code := 130
	if sc.sig == syscall.SIGTERM {
		code = 143
	}
	return exitError{code, fmt.Sprintf("%s after step %d; the checkpoint in %s is saved: continue with --resume", sc, res.Steps, res.Dir)}
}
