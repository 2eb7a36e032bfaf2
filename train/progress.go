package train

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Progress reports a long run: a one-line bar redrawn in place on a terminal, plain periodic lines
// otherwise (logs, CI). It is not safe for concurrent use.
type Progress struct {
	w        io.Writer
	tty      bool
	every    time.Duration
	last     time.Time
	start    time.Time
	lastLine int
	first    int // the global step of the first update (a resumed run starts mid-way)
	started  bool
}

// NewProgress writes to w; a terminal is detected when w is a character device.
func NewProgress(w io.Writer) *Progress {
	p := &Progress{w: w, every: 10 * time.Second, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
			p.every = 200 * time.Millisecond
		}
	}
	return p
}

// Status is what one progress update shows.
type Status struct {
	Epoch, Epochs   int
	Step, Steps     int // global step and the run's total
	Loss, LR        float64
	ImagesPerSecond float64 // of all the processes together
	Processes       int     // data-parallel processes training the run (0 or 1: one)
}

// Update shows s, rate limited; force draws now.
func (p *Progress) Update(s Status, force bool) {
	if p == nil || p.w == nil {
		return
	}
	now := time.Now()
	if !force && now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	if !p.started {
		p.started, p.first, p.start = true, s.Step-1, now
	}
	frac := 0.0
	if s.Steps > 0 {
		frac = float64(s.Step) / float64(s.Steps)
	}
	eta := "?"
	if done := s.Step - p.first; done > 1 && s.Steps > s.Step {
		perStep := now.Sub(p.start) / time.Duration(done-1)
		eta = FormatDuration(perStep * time.Duration(s.Steps-s.Step))
	} else if s.Steps <= s.Step {
		eta = "0s"
	}
	procs := ""
	if s.Processes > 1 {
		procs = fmt.Sprintf(" on %d processes", s.Processes)
	}
	line := fmt.Sprintf("epoch %d/%d  step %d/%d  loss %.4f  lr %.2e  %.0f img/s%s  ETA %s",
		s.Epoch, s.Epochs, s.Step, s.Steps, s.Loss, s.LR, s.ImagesPerSecond, procs, eta)
	if p.tty {
		const width = 24
		n := int(frac * width)
		bar := "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "] "
		line = bar + line
		pad := ""
		if p.lastLine > len(line) {
			pad = strings.Repeat(" ", p.lastLine-len(line))
		}
		fmt.Fprintf(p.w, "\r%s%s", line, pad)
		p.lastLine = len(line)
		return
	}
	fmt.Fprintln(p.w, line)
}

// Println ends the bar's line (on a terminal) and prints a message.
func (p *Progress) Println(a ...any) {
	if p == nil || p.w == nil {
		return
	}
	if p.tty && p.lastLine > 0 {
		fmt.Fprintln(p.w)
		p.lastLine = 0
	}
	fmt.Fprintln(p.w, a...)
}

// Done ends the bar's line.
func (p *Progress) Done() {
	if p != nil && p.tty && p.lastLine > 0 {
		fmt.Fprintln(p.w)
		p.lastLine = 0
	}
}

// FormatDuration renders d compactly: 45s, 3m05s, 1h02m.
func FormatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm", s/3600, (s%3600)/60)
	}
}
