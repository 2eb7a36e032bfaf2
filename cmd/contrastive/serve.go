package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/contrastive-go/contrastive/index"
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
	tokenFile := fs.String("token-file", "", "file holding the bearer token that POST /v1/items and DELETE /v1/items/{id} need (without it, writes are refused)")
	protectReads := fs.Bool("protect-reads", false, "make search and embed need the bearer token too")
	var compactAfter, maxItems, efSearch int
	var recallSample float64
	intFlag(fs, &compactAfter, "compact-after", 10000, nonNegInt, "compact the index in the background once its update log holds this many records (0: never)")
	intFlag(fs, &maxItems, "max-items", 0, nonNegInt, "refuse adds beyond this many items (0: no limit)")
	intFlag(fs, &efSearch, "ef-search", 0, between(0, index.MaxEf), "HNSW candidates per query (0: the index's own)")
	floatFlag(fs, &recallSample, "recall-sample", 0.01, unitInterval, "fraction of graph searches also answered exactly in the background, for the recall estimate in /metrics")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *idx == "" {
		return fmt.Errorf("--model and --index are required (contrastive serve --model DIR --index INDEX)")
	}
	var token string
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fmt.Errorf("--token-file: %w", err)
		}
		if token = strings.TrimSpace(string(b)); len(token) < 16 {
			return fmt.Errorf("--token-file %s holds a token of %d characters; use at least 16 (for example: head -c 24 /dev/urandom | base64)", *tokenFile, len(token))
		}
	} else if *protectReads {
		return fmt.Errorf("--protect-reads needs --token-file")
	}
	logger := log.New(stderr, "serve: ", log.LstdFlags)
	s, err := serve.Open(*dir, *idx, index.StoreOptions{CompactAfter: compactAfter, MaxItems: maxItems, EfSearch: efSearch, Log: stderr},
		serve.EmbedderOptions{MaxPixels: *maxPixels, MaxBatch: max(64, *maxImages)}, serve.Options{
			MaxBodyBytes: *maxBody, MaxImages: *maxImages, MaxK: *maxK, MaxConcurrent: *concurrency, QueueTimeout: *queueTimeout, MaxQueued: *maxQueued, Logger: logger,
			Token: token, ProtectReads: *protectReads, RecallSample: recallSample,
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
