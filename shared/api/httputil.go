package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/store"
)

// Error is Keptn's error body.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// httpError is an error that becomes an answer with its status and message.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return errorf(http.StatusBadRequest, format, args...)
}

func notFound(format string, args ...any) error {
	return errorf(http.StatusNotFound, format, args...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		writeErrorBody(w, http.StatusInternalServerError, "encode response")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeErrorBody(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	b, _ := json.Marshal(Error{Code: status, Message: msg})
	_, _ = w.Write(append(b, '\n'))
}

// handlerFunc is a handler that returns its failure instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// serveError writes err as a Keptn error body. Unexpected errors are logged
// and answered with a generic 500 so no internal detail leaks.
func (a *api) serveError(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		writeErrorBody(w, he.status, he.msg)
	case errors.As(err, &mbe):
		writeErrorBody(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit))
	case errors.Is(err, store.ErrTooLarge):
		writeErrorBody(w, http.StatusRequestEntityTooLarge, "record too large to store")
	case errors.Is(err, store.ErrBadPageToken):
		writeErrorBody(w, http.StatusBadRequest, "invalid nextPageKey")
	default:
		a.log.Error("request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
		writeErrorBody(w, http.StatusInternalServerError, "internal error")
	}
}

// readBody reads the whole body under limit.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, badRequest("read request body: %v", err)
	}
	return b, nil
}

// decodeJSON decodes a JSON body of at most limit bytes into v. strict
// rejects unknown fields (Keptn does so for project bodies).
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any, strict bool) error {
	b, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid request body: %v", err)
	}
	if dec.More() {
		return badRequest("invalid request body: trailing data")
	}
	return nil
}

// pageSizeParam parses an optional positive page size (def when absent).
// max > 0 caps it: above max is an error.
func pageSizeParam(r *http.Request, name string, def, max int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, badRequest("%s must be a non-negative integer", name)
	}
	if n == 0 {
		return def, nil
	}
	if max > 0 && n > max {
		return 0, badRequest("%s must not exceed %d", name, max)
	}
	return n, nil
}

// offsetParam parses Keptn's integer nextPageKey ("" and "0" = start).
func offsetParam(r *http.Request, name string) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, badRequest("%s must be a non-negative integer", name)
	}
	return n, nil
}

// tokenParam returns an opaque page token; Keptn clients send "0" for the start.
func tokenParam(r *http.Request, name string) string {
	v := r.URL.Query().Get(name)
	if v == "0" {
		return ""
	}
	return v
}

// paginate slices n items from offset with page size (0 = all) and returns
// the bounds and Keptn's next key ("0" when nothing follows).
func paginate(n, offset, size int) (lo, hi int, next string) {
	lo = min(offset, n)
	hi = n
	if size > 0 && lo+size < n {
		hi = lo + size
	}
	next = "0"
	if hi < n {
		next = strconv.Itoa(hi)
	}
	return lo, hi, next
}
