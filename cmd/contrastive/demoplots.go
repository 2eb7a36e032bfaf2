package main

import "io"

// demoPlots draws the demo's plots; it is replaced by the plot command's renderer when present.
var demoPlots = func(dir string, log io.Writer) []string { return nil }
