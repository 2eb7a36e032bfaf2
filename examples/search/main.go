// Command search embeds a folder of images with a trained model and prints the nearest
// neighbours of each image of a second folder, through the library alone (no CLI, no server).
//
//	go run ./examples/search -model pets-model -data photos/ -queries new-photos/ -k 5
package main

import (
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/index"
	"github.com/contrastive-go/contrastive/infer"
	"github.com/contrastive-go/contrastive/modeldir"
)

func main() {
	model := flag.String("model", "", "model directory written by 'contrastive train'")
	collection := flag.String("data", "", "image folder to search")
	queries := flag.String("queries", "", "image folder of queries")
	k := flag.Int("k", 5, "neighbours to show")
	flag.Parse()

	md, err := modeldir.Open(*model)
	if err != nil {
		log.Fatal(err)
	}
	// Embed the collection the way the model was trained to see it, into an index.
	x, _, err := index.Build(md, *collection, index.BuildOptions{Log: os.Stderr})
	if err != nil {
		log.Fatal(err)
	}
	// Embed the queries with the same preparation: decode, resize, evaluation transform, h.
	size := x.Meta().ImageSize
	qs, err := data.OpenForModel(*queries, data.ModelOptions{Channels: md.Channels(), Size: size}, os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
	first, err := qs.Get(0)
	if err != nil {
		log.Fatal(err)
	}
	tf, err := md.EvalTransform(first.Image.H, first.Image.C)
	if err != nil {
		log.Fatal(err)
	}
	q, err := infer.Embed(md.Model, qs, tf, infer.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for lo := 0; lo < q.N; lo += 1024 { // Search takes up to 4096 queries per call
		hi := min(lo+1024, q.N)
		hits, err := x.Search(q.Data[lo*q.D:hi*q.D], *k)
		if err != nil {
			log.Fatal(err)
		}
		for i, hs := range hits {
			fmt.Println(q.IDs[lo+i])
			for _, h := range hs {
				fmt.Printf("  %.4f  %s\n", h.Score, x.ID(h.Row))
			}
		}
	}
}
