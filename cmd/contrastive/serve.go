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
	var maxBodyV int64
	var maxPixelsV, maxImagesV, maxKV, concurrencyV, maxQueuedV int
	var queueTimeoutV time.Duration
	maxBody, maxPixels, maxImages, maxK, concurrency, queueTimeout, maxQueued := &maxBodyV, &maxPixelsV, &maxImagesV, &maxKV, &concurrencyV, &queueTimeoutV, &maxQueuedV
	int64Flag(fs, maxBody, "max-body-bytes", 16<<20, positiveInt64, "largest request body in bytes")
	intFlag(fs, maxPixels, "max-pixels", serve.DefaultMaxPixels, positiveInt, "largest uploaded image in pixels (checked before decoding)")
	intFlag(fs, maxImages, "max-images", 32, positiveInt, "images in one embed request")
	intFlag(fs, maxK, "max-k", 1000, positiveInt, "largest k a search may ask for")
	intFlag(fs, concurrency, "concurrency", 0, nonNegInt, "requests reading bodies and decoding images at once (0: twice the number of CPUs); more wait")
	durationFlag(fs, queueTimeout, "queue-timeout", 10*time.Second, positiveDur, "how long a request waits for a slot before a 503")
	intFlag(fs, maxQueued, "max-queued", 1024, positiveInt, "embed and search requests in progress, waiting included; more get 503 at once")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *idx == "" {
		return fmt.Errorf("--model and --index are required (contrastive serve --model DIR --index INDEX)")
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
