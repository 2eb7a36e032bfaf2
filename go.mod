module github.com/contrastive-go/contrastive

go 1.26
