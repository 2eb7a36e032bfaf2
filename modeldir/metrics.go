package modeldir

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// ReadMetrics returns the lines of a metrics.jsonl file.
func ReadMetrics(path string) ([]map[string]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []map[string]float64
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var raw map[string]any
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line := map[string]float64{}
		for k, v := range raw {
			if f, ok := v.(float64); ok {
				line[k] = f
			}
		}
		out = append(out, line)
	}
	return out, sc.Err()
}
