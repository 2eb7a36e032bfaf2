package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// metricsLog appends one JSON object per line to metrics.jsonl.
type metricsLog struct {
	f *os.File
}

// openMetrics opens the metrics log for appending. keepSteps > 0 (a resume) keeps the lines
// logged up to that global step and drops the rest, so the log matches the checkpoint; 0 starts
// a new log.
func openMetrics(path string, keepSteps int) (*metricsLog, error) {
	var kept []byte
	if keepSteps > 0 {
		old, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(old))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				Step int `json:"step"`
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil || line.Step > keepSteps {
				continue
			}
			kept = append(append(kept, sc.Bytes()...), '\n')
		}
	}
	if err := WriteFileAtomic(path, kept); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return &metricsLog{f: f}, nil
}

// Write appends one line; a write error is ignored (metrics are a log, not state).
func (m *metricsLog) Write(v map[string]any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	m.f.Write(append(b, '\n'))
}

// Close closes the file.
func (m *metricsLog) Close() error { return m.f.Close() }
