package serve

import (
	"bufio"
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the server's logger and the test to share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBodyReadTimeoutHidesAddresses sends requests whose body stops arriving. The server's read
// times out; the answer must say so without the socket addresses of Go's net error text
// ("read tcp 127.0.0.1:PORT->127.0.0.1:PORT: i/o timeout"), which go to the log instead.
func TestBodyReadTimeoutHidesAddresses(t *testing.T) {
	var logged lockedBuffer
	f := newFixture(t, 4, Options{Logger: log.New(&logged, "", 0)})
	hs := httptest.NewUnstartedServer(f.srv)
	hs.Config.ReadTimeout = 300 * time.Millisecond
	hs.Start()
	defer hs.Close()
	cases := []struct {
		name, path, contentType, partial string
	}{
		{"search by vector", "/v1/search", "application/json", `{"vector": [0.1, `},
		{"search by image", "/v1/search", "image/png", "\x89PNG\r\n\x1a\n"},
		{"embed multipart", "/v1/embed", "multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n\x89PNG"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", hs.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			local := conn.LocalAddr().String()
			req := "POST " + c.path + " HTTP/1.1\r\nHost: test\r\nContent-Type: " + c.contentType +
				"\r\nContent-Length: 100000\r\n\r\n" + c.partial
			if _, err := io.WriteString(conn, req); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer after the server's read timed out: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Errorf("status %d, want %d (body %s)", resp.StatusCode, http.StatusRequestTimeout, body)
			}
			port := local[strings.LastIndex(local, ":")+1:]
			for _, leak := range []string{"127.0.0.1", "tcp", port, hs.Listener.Addr().String()} {
				if strings.Contains(string(body), leak) {
					t.Errorf("the answer %s exposes %q", body, leak)
				}
			}
			if !strings.Contains(string(body), "timed out") {
				t.Errorf("the answer %s does not say the body timed out", body)
			}
			if !strings.Contains(logged.String(), local) {
				t.Errorf("the log does not hold the read error with the client's address %s:\n%s", local, logged.String())
			}
		})
	}
}
