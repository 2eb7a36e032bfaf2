// Package plot draws a training run as PNG images: the loss, learning-rate and kNN curves logged
// in metrics.jsonl, and 2-D maps of embeddings (PCA or t-SNE) coloured by class. Drawing is done
// by gonum.org/v1/plot; this package adds the projections (PCA, exact t-SNE) and the styling.
package plot

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Size of the curve images; the embedding map is square-ish with room for its legend.
const (
	curveWidth  = 7 * vg.Inch
	curveHeight = 4.5 * vg.Inch
	dpi         = 110
)

// Curves is the training history of a run, as logged in metrics.jsonl.
type Curves struct {
	Step, Loss         []float64 // every logged step's loss
	LRStep, LR         []float64 // every logged step's learning rate
	EpochStep, Epoch   []float64 // the global step and number of each completed epoch
	EpochLoss          []float64 // the mean loss of each completed epoch (aligned with Epoch)
	KNNEpoch, KNNTop1  []float64 // the kNN monitor's top-1 accuracy, where it ran
	ImagesPerSec, IPSX []float64 // throughput per logged step (IPSX: its step)
}

// CurvesFromMetrics collects the curves from the lines of metrics.jsonl (modeldir.ReadMetrics):
// step lines carry step, loss, lr and images_per_s; epoch lines carry epoch_end, step,
// epoch_loss and, when the monitor ran, knn_top1.
func CurvesFromMetrics(lines []map[string]float64) Curves {
	var c Curves
	for _, l := range lines {
		step, hasStep := l["step"]
		if e, ok := l["epoch_end"]; ok {
			if v, ok := l["epoch_loss"]; ok && finite(v) {
				c.Epoch = append(c.Epoch, e)
				c.EpochStep = append(c.EpochStep, step)
				c.EpochLoss = append(c.EpochLoss, v)
			}
			if v, ok := l["knn_top1"]; ok && finite(v) {
				c.KNNEpoch = append(c.KNNEpoch, e)
				c.KNNTop1 = append(c.KNNTop1, v)
			}
			continue
		}
		if !hasStep {
			continue
		}
		if v, ok := l["loss"]; ok && finite(v) {
			c.Step = append(c.Step, step)
			c.Loss = append(c.Loss, v)
		}
		if v, ok := l["lr"]; ok && finite(v) {
			c.LRStep = append(c.LRStep, step)
			c.LR = append(c.LR, v)
		}
		if v, ok := l["images_per_s"]; ok && finite(v) {
			c.IPSX = append(c.IPSX, step)
			c.ImagesPerSec = append(c.ImagesPerSec, v)
		}
	}
	return c
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// ErrNoData is returned by the curve functions when the log holds nothing to draw.
var ErrNoData = fmt.Errorf("nothing logged to plot")

// LossPNG draws the loss per logged step and, on top, the mean loss of each epoch against the
// step it ended at.
func LossPNG(c Curves, title string) ([]byte, error) {
	if len(c.Loss) == 0 && len(c.EpochLoss) == 0 {
		return nil, ErrNoData
	}
	p := newPlot(title, "step", "loss")
	if len(c.Loss) > 0 {
		l, err := plotter.NewLine(xys(c.Step, c.Loss))
		if err != nil {
			return nil, err
		}
		l.Color = color.NRGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0x99}
		l.Width = vg.Points(1)
		p.Add(l)
		p.Legend.Add("loss per step", l)
	}
	if len(c.EpochLoss) > 0 {
		l, s, err := plotter.NewLinePoints(xys(c.EpochStep, c.EpochLoss))
		if err != nil {
			return nil, err
		}
		orange := color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
		l.Color, l.Width = orange, vg.Points(2)
		s.Color, s.Shape, s.Radius = orange, draw.CircleGlyph{}, vg.Points(3)
		p.Add(l, s)
		p.Legend.Add("epoch mean", l, s)
	}
	p.Legend.Top = true
	p.Legend.Padding = vg.Points(3)
	return render(p, curveWidth, curveHeight)
}

// LRPNG draws the learning rate per logged step.
func LRPNG(c Curves, title string) ([]byte, error) {
	if len(c.LR) == 0 {
		return nil, ErrNoData
	}
	p := newPlot(title, "step", "learning rate")
	l, err := plotter.NewLine(xys(c.LRStep, c.LR))
	if err != nil {
		return nil, err
	}
	l.Color, l.Width = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, vg.Points(1.5)
	p.Add(l)
	if lo, _ := minMax(c.LR); lo >= 0 {
		p.Y.Min = 0
	}
	return render(p, curveWidth, curveHeight)
}

// KNNPNG draws the kNN monitor's top-1 accuracy per epoch.
func KNNPNG(c Curves, title string) ([]byte, error) {
	if len(c.KNNTop1) == 0 {
		return nil, ErrNoData
	}
	p := newPlot(title, "epoch", "kNN top-1 accuracy")
	l, s, err := plotter.NewLinePoints(xys(c.KNNEpoch, c.KNNTop1))
	if err != nil {
		return nil, err
	}
	red := color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	l.Color, l.Width = red, vg.Points(2)
	s.Color, s.Shape, s.Radius = red, draw.CircleGlyph{}, vg.Points(3)
	p.Add(l, s)
	lo, hi := minMax(c.KNNTop1)
	p.Y.Min, p.Y.Max = math.Max(0, lo-0.05), math.Min(1, hi+0.05)
	if len(c.KNNEpoch) == 1 {
		p.X.Min, p.X.Max = c.KNNEpoch[0]-1, c.KNNEpoch[0]+1
	}
	return render(p, curveWidth, curveHeight)
}

// ScatterOptions describe an embedding map.
type ScatterOptions struct {
	Title, XLabel, YLabel string
	Seed                  uint64 // of the drawing order (points are drawn shuffled so no class hides another)
	// MaxLegend caps the legend's entries (default 30); with more classes the legend is left out.
	MaxLegend int
}

// ScatterPNG draws n points (xy is [n, 2] row-major) coloured by label, with a legend naming the
// classes found in labels (classes[label] when known; labels < 0 or without a name are drawn
// grey as "unlabelled"). labels may be nil: every point is then drawn in one colour, without a
// legend.
func ScatterPNG(xy []float64, labels []int, classes []string, opt ScatterOptions) ([]byte, error) {
	n := len(xy) / 2
	if n == 0 || len(xy) != 2*n {
		return nil, fmt.Errorf("scatter: %d coordinates do not make a list of 2-D points", len(xy))
	}
	if labels != nil && len(labels) != n {
		return nil, fmt.Errorf("scatter: %d labels for %d points", len(labels), n)
	}
	if opt.MaxLegend <= 0 {
		opt.MaxLegend = 30
	}
	present := map[int]bool{}
	for _, l := range labels {
		present[max(l, -1)] = true
	}
	keys := make([]int, 0, len(present))
	for l := range present {
		keys = append(keys, l)
	}
	sort.Ints(keys)
	colours := map[int]color.Color{}
	ci := 0
	for _, l := range keys {
		if l < 0 {
			colours[l] = color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff}
			continue
		}
		colours[l] = Palette(ci)
		ci++
	}
	order := rand.New(rand.NewPCG(opt.Seed, 0x5ca7)).Perm(n)
	pts := make(plotter.XYs, n)
	for i, o := range order {
		pts[i] = plotter.XY{X: xy[2*o], Y: xy[2*o+1]}
	}
	sc, err := plotter.NewScatter(pts)
	if err != nil {
		return nil, err
	}
	radius := vg.Points(2.2)
	if n > 3000 {
		radius = vg.Points(1.6)
	}
	glyph := func(c color.Color) draw.GlyphStyle {
		return draw.GlyphStyle{Color: c, Radius: radius, Shape: draw.CircleGlyph{}}
	}
	styles := map[int]draw.GlyphStyle{}
	for l, c := range colours {
		styles[l] = glyph(c)
	}
	one := glyph(Palette(0))
	sc.GlyphStyleFunc = func(i int) draw.GlyphStyle {
		if labels == nil {
			return one
		}
		return styles[max(labels[order[i]], -1)]
	}
	p := newPlot(opt.Title, opt.XLabel, opt.YLabel)
	p.Add(sc)

	width, height := 8*vg.Inch, 6.5*vg.Inch
	legend := gplot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.ThumbnailWidth = vg.Points(12)
	legend.TextStyle.Font.Size = vg.Points(10)
	legend.Padding = vg.Points(4)
	if labels != nil && len(keys) <= opt.MaxLegend {
		for _, l := range keys {
			name := "unlabelled"
			if l >= 0 {
				name = fmt.Sprint(l)
				if l < len(classes) && classes[l] != "" {
					name = classes[l]
				}
			}
			thumb := &plotter.Scatter{GlyphStyle: styles[l]}
			thumb.GlyphStyle.Radius = vg.Points(4)
			legend.Add(name, thumb)
		}
	} else {
		legend = gplot.Legend{}
	}
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	var legendW vg.Length
	if len(keys) > 0 && legend.ThumbnailWidth > 0 {
		r := legend.Rectangle(dc)
		legendW = r.Max.X - r.Min.X + vg.Points(16)
	}
	p.Draw(draw.Crop(dc, vg.Points(4), -legendW-vg.Points(4), vg.Points(4), -vg.Points(4)))
	if legendW > 0 {
		lc := draw.Crop(dc, width-legendW+vg.Points(8), 0, 0, -vg.Points(40))
		legend.Draw(lc)
	}
	return encode(img)
}

// tableau is the matplotlib "tab10" palette.
var tableau = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff},
	{0xbc, 0xbd, 0x22, 0xff}, {0x17, 0xbe, 0xcf, 0xff},
}

// Palette returns the i-th class colour: the ten "tab10" colours, then hues spaced by the golden
// angle at two lightness levels.
func Palette(i int) color.Color {
	if i < len(tableau) {
		return tableau[i]
	}
	h := math.Mod(float64(i-len(tableau))*137.50776, 360)
	l := 0.45
	if i%2 == 1 {
		l = 0.62
	}
	return hsl(h, 0.65, l)
}

// hsl converts hue (degrees), saturation and lightness in [0, 1] to RGB.
func hsl(h, s, l float64) color.RGBA {
	c := (1 - math.Abs(2*l-1)) * s
	x := c * (1 - math.Abs(math.Mod(h/60, 2)-1))
	m := l - c/2
	var r, g, b float64
	switch {
	case h < 60:
		r, g = c, x
	case h < 120:
		r, g = x, c
	case h < 180:
		g, b = c, x
	case h < 240:
		g, b = x, c
	case h < 300:
		r, b = x, c
	default:
		r, b = c, x
	}
	u := func(v float64) uint8 { return uint8(math.Round(255 * (v + m))) }
	return color.RGBA{R: u(r), G: u(g), B: u(b), A: 0xff}
}

// newPlot returns a plot with a title, axis labels and a light grid.
func newPlot(title, x, y string) *gplot.Plot {
	p := gplot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text, p.Y.Label.Text = x, y
	p.X.Label.TextStyle.Font.Size = vg.Points(12)
	p.Y.Label.TextStyle.Font.Size = vg.Points(12)
	p.X.Tick.Marker = distinctTicks{}
	p.Y.Tick.Marker = distinctTicks{}
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{Y: 0xd8}
	g.Horizontal.Color = color.Gray{Y: 0xd8}
	p.Add(g)
	return p
}

// render draws p on a white w×h canvas and returns the PNG.
func render(p *gplot.Plot, w, h vg.Length) ([]byte, error) {
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	p.Draw(draw.Crop(dc, vg.Points(4), -vg.Points(12), vg.Points(4), -vg.Points(4)))
	return encode(img)
}

func encode(img *vgimg.Canvas) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("encoding PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// distinctTicks is gonum's default ticker with labels given just enough digits to tell them
// apart (the default prints 3.9 three times on an axis from 3.89 to 3.91): fixed-point decimals
// for ordinary magnitudes, the shortest distinct %g form for very small or large ones.
type distinctTicks struct{}

// Ticks returns the default tick positions with re-formatted labels.
func (distinctTicks) Ticks(lo, hi float64) []gplot.Tick {
	ticks := gplot.DefaultTicks{}.Ticks(lo, hi)
	big := 0.0
	for _, t := range ticks {
		big = math.Max(big, math.Abs(t.Value))
	}
	format := func(v float64, prec int) string { return strconv.FormatFloat(v, 'g', prec+1, 64) }
	if big >= 1e-4 && big < 1e6 {
		format = func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	}
	for prec := 0; prec <= 12; prec++ {
		seen := map[string]bool{}
		ok := true
		for _, t := range ticks {
			if t.Label == "" {
				continue
			}
			l := format(t.Value, prec)
			if seen[l] || math.Abs(mustParse(l)-t.Value) > 1e-9*math.Max(math.Abs(t.Value), hi-lo) {
				ok = false
				break
			}
			seen[l] = true
		}
		if ok {
			for i := range ticks {
				switch {
				case ticks[i].Label == "":
				case ticks[i].Value == 0:
					ticks[i].Label = "0"
				default:
					ticks[i].Label = format(ticks[i].Value, prec)
				}
			}
			break
		}
	}
	return ticks
}

func mustParse(s string) float64 {
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

func xys(x, y []float64) plotter.XYs {
	pts := make(plotter.XYs, len(x))
	for i := range x {
		pts[i] = plotter.XY{X: x[i], Y: y[i]}
	}
	return pts
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}
