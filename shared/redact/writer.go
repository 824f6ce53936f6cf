package redact

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Writer redacts a stream on its way to dst, so that whatever dst keeps of
// it (a capped buffer may cut it anywhere) holds no part of a secret.
//
// It passes a byte on only once it is decided: masked as part of a secret,
// or known not to start one. What could still be the start of a secret,
// depending on bytes not yet written, is held back (never more than the
// longest secret less one byte) until the next Write, Close or CloseCut.
// The result of a finished stream is exactly Redactor.String of the whole
// text, however it was split into writes.
//
// A Writer is not safe for concurrent use. Close does not close dst.
type Writer struct {
	dst     io.Writer
	red     *Redactor
	pending []byte // undecided tail: a proper prefix of some key
	err     error
}

var errClosed = errors.New("redact: write after close")

// NewWriter returns a Writer masking r's secrets (nil or empty r: none).
func NewWriter(dst io.Writer, r *Redactor) *Writer {
	if r != nil && len(r.keys) == 0 {
		r = nil
	}
	return &Writer{dst: dst, red: r}
}

// Write redacts p and passes on what is decided. It reports len(p) unless
// dst failed; the error sticks.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.red == nil {
		n, err := w.dst.Write(p)
		if err != nil {
			w.err = fmt.Errorf("redact: %w", err)
		}
		return n, w.err
	}
	b := p
	if len(w.pending) > 0 {
		b = append(w.pending, p...)
	}
	rest := w.scan(b, false)
	if w.err != nil {
		return 0, w.err
	}
	// rest may alias w.pending's array; copy handles the overlap.
	w.pending = append(w.pending[:0], rest...)
	return len(p), nil
}

// Close ends the stream: the held-back tail is redacted as the end of the
// text (a partial secret left there is not a secret) and passed on.
func (w *Writer) Close() error {
	return w.finish(false)
}

// CloseCut ends a stream that was cut off rather than finished (the source
// was abandoned mid-way): the held-back tail, which may be the start of a
// secret whose rest was never read, is replaced by Mask.
func (w *Writer) CloseCut() error {
	return w.finish(true)
}

func (w *Writer) finish(cut bool) error {
	if w.err != nil {
		if w.err == errClosed {
			return nil
		}
		return w.err
	}
	if len(w.pending) > 0 {
		if cut {
			w.write([]byte(Mask))
		} else {
			w.scan(w.pending, true)
		}
		w.pending = nil
	}
	if w.err != nil {
		return w.err
	}
	w.err = errClosed
	return nil
}

// scan passes on b, masking keys, up to the first position whose match is
// undecided, and returns the rest. A position is undecided when the bytes
// from it to the end of b are a proper prefix of a key (never when final).
// Keys are longest first, so at each position the longest key wins, as in
// String's strings.Replacer: leftmost match first, then the longest.
func (w *Writer) scan(b []byte, final bool) []byte {
	last := 0
	for i := 0; i < len(b); {
		if !w.red.first[b[i]] {
			i++
			continue
		}
		n, undecided := w.red.match(b[i:], final)
		switch {
		case undecided:
			w.write(b[last:i])
			return b[i:]
		case n == 0:
			i++
		default:
			w.write(b[last:i])
			w.write([]byte(Mask))
			i += n
			last = i
		}
	}
	w.write(b[last:])
	return nil
}

// match reports the length of the longest key s starts with, or that a
// longer key may still match once more bytes follow s (unless final).
func (r *Redactor) match(s []byte, final bool) (n int, undecided bool) {
	for _, k := range r.keys {
		if len(k) > len(s) {
			if !final && bytes.HasPrefix(k, s) {
				return 0, true
			}
			continue
		}
		if bytes.HasPrefix(s, k) {
			return len(k), false
		}
	}
	return 0, false
}

func (w *Writer) write(p []byte) {
	if len(p) == 0 || w.err != nil {
		return
	}
	if _, err := w.dst.Write(p); err != nil {
		w.err = fmt.Errorf("redact: %w", err)
	}
}
