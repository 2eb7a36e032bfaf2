package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// httpError is an error with the HTTP status it answers with.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errorf(code int, format string, a ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, a...)}
}

// statusOf is the status an error answers with: its own, 413 for a body over the limit, 400
// otherwise.
func statusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.code
	}
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// part is one uploaded image: its bytes and, for a multipart file, its file name.
type part struct {
	name string
	data []byte
}

// bodyKind classifies a Content-Type: "json", "image" (a raw image body) or "multipart" (with
// its boundary).
func bodyKind(contentType string) (kind, boundary string, err error) {
	if contentType == "" {
		return "", "", errorf(http.StatusUnsupportedMediaType, "missing Content-Type: send an image (image/jpeg, image/png, ... or application/octet-stream), multipart/form-data, or application/json")
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", "", errorf(http.StatusUnsupportedMediaType, "unreadable Content-Type %q", truncate(contentType, 100))
	}
	switch {
	case mt == "application/json":
		return "json", "", nil
	case strings.HasPrefix(mt, "image/") || mt == "application/octet-stream":
		return "image", "", nil
	case mt == "multipart/form-data":
		b := params["boundary"]
		if b == "" {
			return "", "", errorf(http.StatusBadRequest, "multipart/form-data without a boundary")
		}
		return "multipart", b, nil
	}
	return "", "", errorf(http.StatusUnsupportedMediaType, "unsupported Content-Type %q: send an image (image/jpeg, image/png, ... or application/octet-stream), multipart/form-data, or application/json", truncate(mt, 100))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// readImages reads the images of a request body of the given kind: the whole body for a raw
// image, every file part of a multipart form (at most maxImages). Plain multipart fields are
// returned in fields (at most 16, 1 KiB each). body must already be size-limited.
func readImages(kind, boundary string, body io.Reader, maxImages int) (parts []part, fields url.Values, err error) {
	switch kind {
	case "image":
		b, err := io.ReadAll(body)
		if err != nil {
			return nil, nil, err
		}
		if len(b) == 0 {
			return nil, nil, errorf(http.StatusBadRequest, "empty body: send the image's bytes")
		}
		return []part{{data: b}}, nil, nil
	case "multipart":
		fields = url.Values{}
		mr := multipart.NewReader(body, boundary)
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, nil, errorf(statusOf(err), "reading the multipart body: %v", err)
			}
			if p.FileName() == "" {
				if len(fields) >= 16 {
					return nil, nil, errorf(http.StatusBadRequest, "too many form fields")
				}
				b, err := io.ReadAll(io.LimitReader(p, 1025))
				if err != nil {
					return nil, nil, errorf(statusOf(err), "reading form field %q: %v", p.FormName(), err)
				}
				if len(b) > 1024 {
					return nil, nil, errorf(http.StatusBadRequest, "form field %q is over 1 KiB", truncate(p.FormName(), 100))
				}
				fields.Add(p.FormName(), string(b))
				continue
			}
			if len(parts) >= maxImages {
				return nil, nil, errorf(http.StatusBadRequest, "more than %d images in one request", maxImages)
			}
			b, err := io.ReadAll(p)
			if err != nil {
				return nil, nil, errorf(statusOf(err), "reading file %q: %v", truncate(p.FileName(), 100), err)
			}
			if len(b) == 0 {
				return nil, nil, errorf(http.StatusBadRequest, "file %q is empty", truncate(p.FileName(), 100))
			}
			parts = append(parts, part{name: p.FileName(), data: b})
		}
		if len(parts) == 0 {
			return nil, nil, errorf(http.StatusBadRequest, "the multipart form holds no file: attach images as file fields (curl -F 'image=@photo.jpg')")
		}
		return parts, fields, nil
	}
	return nil, nil, errorf(http.StatusUnsupportedMediaType, "send images as a raw body (image/*, application/octet-stream) or as multipart/form-data")
}

// searchRequest is the JSON body of a search by vector.
type searchRequest struct {
	Vector []float32 `json:"vector"`
	K      *int      `json:"k"`
	Exact  *bool     `json:"exact"`
}

// searchInput is a parsed search request: a vector or an image, and k.
type searchInput struct {
	vector []float32
	image  *part
	k      int
	exact  bool
}

// parseK reads k from a query or form value; "" gives def.
func parseK(s string, def, maxK int) (int, error) {
	if s == "" {
		return def, nil
	}
	k, err := strconv.Atoi(s)
	if err != nil || k < 1 || k > maxK {
		return 0, errorf(http.StatusBadRequest, "k must be an integer from 1 to %d, got %q", maxK, truncate(s, 20))
	}
	return k, nil
}

// parseSearch reads a search request: JSON {"vector": [...], "k": 10} with a vector of
// dimension dim, or an image (raw body or the first file of a multipart form) with k from the
// query string (?k=10) or a form field. body must already be size-limited.
func parseSearch(contentType string, query url.Values, body io.Reader, dim, defK, maxK int) (searchInput, error) {
	kind, boundary, err := bodyKind(contentType)
	if err != nil {
		return searchInput{}, err
	}
	k, err := parseK(query.Get("k"), defK, maxK)
	if err != nil {
		return searchInput{}, err
	}
	exact := false
	if e := query.Get("exact"); e != "" {
		if exact, err = strconv.ParseBool(e); err != nil {
			return searchInput{}, errorf(http.StatusBadRequest, "exact must be true or false, got %q", truncate(e, 20))
		}
	}
	if kind == "json" {
		b, err := io.ReadAll(body)
		if err != nil {
			return searchInput{}, errorf(statusOf(err), "reading the body: %v", err)
		}
		var req searchRequest
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return searchInput{}, errorf(http.StatusBadRequest, "malformed JSON (want {\"vector\": [...], \"k\": 10}): %v", err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return searchInput{}, errorf(http.StatusBadRequest, "malformed JSON: data after the object")
		}
		if req.Vector == nil {
			return searchInput{}, errorf(http.StatusBadRequest, "the JSON has no \"vector\" (want {\"vector\": [...], \"k\": 10})")
		}
		if len(req.Vector) != dim {
			return searchInput{}, errorf(http.StatusBadRequest, "the vector has %d values but the index holds %d-d vectors", len(req.Vector), dim)
		}
		if err := checkDirection(req.Vector); err != nil {
			return searchInput{}, err
		}
		if req.K != nil {
			if *req.K < 1 || *req.K > maxK {
				return searchInput{}, errorf(http.StatusBadRequest, "k must be an integer from 1 to %d, got %d", maxK, *req.K)
			}
			k = *req.K
		}
		if req.Exact != nil {
			exact = *req.Exact
		}
		return searchInput{vector: req.Vector, k: k, exact: exact}, nil
	}
	parts, fields, err := readImages(kind, boundary, body, 1)
	if err != nil {
		return searchInput{}, err
	}
	if fk := fields.Get("k"); fk != "" && query.Get("k") == "" {
		if k, err = parseK(fk, defK, maxK); err != nil {
			return searchInput{}, err
		}
	}
	return searchInput{image: &parts[0], k: k, exact: exact}, nil
}

// minNorm is the smallest L2 norm a query vector may have: index.Normalize divides by
// max(‖v‖, 1e-12), so a shorter vector would not come out of length 1 and its cosine scores
// would mean nothing (and all-zero vectors score 0 against everything).
const minNorm = 1e-12

// checkDirection refuses a vector holding NaN or ±Inf, or whose norm is below minNorm: it has no
// direction to search for.
func checkDirection(v []float32) error {
	var s float64
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return errorf(http.StatusBadRequest, "the vector has a non-finite value (NaN or Inf)")
		}
		s += float64(x) * float64(x)
	}
	if math.Sqrt(s) < minNorm {
		return errorf(http.StatusBadRequest, "the vector has no direction: its norm is %.3g, below %g (all zeros or too small to normalise)", math.Sqrt(s), minNorm)
	}
	return nil
}
