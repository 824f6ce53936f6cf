package watch

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Source gives the current state of the watched context.
type Source interface {
	Snapshot(ctx context.Context) (Snapshot, error)
}

// Options of Follow.
type Options struct {
	Out      io.Writer
	TTY      bool          // redraw a live view; otherwise print plain change lines
	Width    func() int    // terminal width for the live view, read per frame so a resized window is followed (nil or 0: no truncation)
	Interval time.Duration // between reads (default 1s)
	Timeout  time.Duration // give up after this (0: never); exit ExitAborted
	Now      func() time.Time
}

// Follow reads src until the context ends, the timeout passes or ctx is
// done, showing progress on opt.Out, and returns the exit code.
func Follow(ctx context.Context, src Source, opt Options) (int, error) {
	if opt.Interval <= 0 {
		opt.Interval = time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	var deadline time.Time
	if opt.Timeout > 0 {
		deadline = opt.Now().Add(opt.Timeout)
	}
	var prev Snapshot
	drawn := 0
	first := true
	for {
		cur, err := src.Snapshot(ctx)
		if err != nil {
			return ExitFail, err
		}
		now := opt.Now()
		if opt.TTY {
			width := 0
			if opt.Width != nil {
				width = opt.Width()
			}
			drawn = redraw(opt.Out, drawn, Frame(cur, now), width)
		} else {
			lines := Changes(prev, cur, now)
			if first && !cur.Found {
				lines = Frame(cur, now)
			}
			for _, l := range lines {
				fmt.Fprintln(opt.Out, l)
			}
		}
		first = false
		prev = cur
		if cur.Over() {
			return cur.ExitCode(), nil
		}
		if !deadline.IsZero() && !now.Before(deadline) {
			fmt.Fprintf(opt.Out, "watch timed out after %s (state %s)\n", opt.Timeout, orUnknown(cur.State))
			return ExitAborted, nil
		}
		wait := opt.Interval
		if !deadline.IsZero() {
			wait = min(wait, deadline.Sub(now))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ExitAborted, ctx.Err()
		case <-t.C:
		}
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// redraw replaces the previous frame (drawn lines) with lines: cursor up,
// clear to the end of the screen, print. Lines are cut to the width so a
// wrapped line cannot throw the count off.
func redraw(w io.Writer, drawn int, lines []string, width int) int {
	var b strings.Builder
	if drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA\r\x1b[J", drawn)
	}
	for _, l := range lines {
		if width > 0 && utf8.RuneCountInString(l) >= width {
			l = string([]rune(l)[:width-1])
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	_, _ = io.WriteString(w, b.String())
	return len(lines)
}
