package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/contrastive-go/contrastive/serve"
)

func init() {
	register("serve", "HTTP similarity search: embed uploaded images, find the most similar in an index", runServe)
}

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "serve --model DIR --index INDEX [--addr 127.0.0.1:8080]", stderr)
	dir := fs.String("model", "", "model directory written by train (the one that made the index)")
	idx := fs.String("index", "", "index file written by 'contrastive index'")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	maxBody := fs.Int64("max-body-bytes", 16<<20, "largest request body in bytes")
	maxPixels := fs.Int("max-pixels", serve.DefaultMaxPixels, "largest uploaded image in pixels (checked before decoding)")
	maxImages := fs.Int("max-images", 32, "images in one embed request")
	maxK := fs.Int("max-k", 1000, "largest k a search may ask for")
	concurrency := fs.Int("concurrency", 0, "requests reading bodies and decoding images at once (0: twice the number of CPUs); more wait")
	queueTimeout := fs.Duration("queue-timeout", 10*time.Second, "how long a request waits for a slot before a 503")
	maxQueued := fs.Int("max-queued", 1024, "embed and search requests in progress, waiting included; more get 503 at once")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *idx == "" {
		return fmt.Errorf("--model and --index are required (contrastive serve --model DIR --index INDEX)")
	}
	if *maxBody < 1 || *maxPixels < 1 || *maxImages < 1 || *maxK < 1 || *concurrency < 0 || *queueTimeout <= 0 || *maxQueued < 1 {
		return fmt.Errorf("--max-body-bytes, --max-pixels, --max-images, --max-k, --max-queued and --queue-timeout must be positive")
	}
	logger := log.New(stderr, "serve: ", log.LstdFlags)
	s, err := serve.Open(*dir, *idx, serve.EmbedderOptions{MaxPixels: *maxPixels, MaxBatch: max(64, *maxImages)}, serve.Options{
		MaxBodyBytes: *maxBody, MaxImages: *maxImages, MaxK: *maxK, MaxConcurrent: *concurrency, QueueTimeout: *queueTimeout, MaxQueued: *maxQueued, Logger: logger,
	})
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	logger.Printf("serving %s (model %s) on http://%s", *idx, *dir, ln.Addr())
	if err := s.Serve(ctx, ln); err != nil {
		return err
	}
	logger.Printf("shut down")
	return nil
}
