package watch

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)

func runOf(stage, state, result string, tasks ...Task) Run {
	return Run{Stage: stage, Sequence: "delivery", State: state, Result: result, Started: t0, Tasks: tasks}
}

func TestExitCode(t *testing.T) {
	for name, tc := range map[string]struct {
		snap Snapshot
		over bool
		code int
	}{
		"all pass":           {Snapshot{Found: true, State: "finished", Runs: []Run{runOf("dev", "finished", "pass"), runOf("prod", "finished", "pass")}}, true, ExitPass},
		"warning in one":     {Snapshot{Found: true, State: "finished", Runs: []Run{runOf("dev", "finished", "pass"), runOf("prod", "finished", "warning")}}, true, ExitWarning},
		"fail beats warning": {Snapshot{Found: true, State: "finished", Runs: []Run{runOf("dev", "finished", "fail"), runOf("prod", "finished", "warning")}}, true, ExitFail},
		"keptn's failed":     {Snapshot{Found: true, State: "finished", Runs: []Run{runOf("dev", "finished", "failed")}}, true, ExitFail},
		"aborted":            {Snapshot{Found: true, State: "aborted", Runs: []Run{runOf("dev", "finished", "pass")}}, true, ExitAborted},
		"timed out":          {Snapshot{Found: true, State: "timedOut"}, true, ExitAborted},
		"started":            {Snapshot{Found: true, State: "started"}, false, 0},
		"not found yet":      {Snapshot{State: "finished"}, false, 0},
	} {
		t.Run(name, func(t *testing.T) {
			if got := tc.snap.Over(); got != tc.over {
				t.Fatalf("Over = %v, want %v", got, tc.over)
			}
			if tc.over {
				if got := tc.snap.ExitCode(); got != tc.code {
					t.Fatalf("ExitCode = %d, want %d", got, tc.code)
				}
			}
		})
	}
}

func TestElapsed(t *testing.T) {
	for name, tc := range map[string]struct {
		d    time.Duration
		want string
	}{
		"millis":  {850 * time.Millisecond, "850ms"},
		"seconds": {12300 * time.Millisecond, "12.3s"},
		"minutes": {4*time.Minute + 5*time.Second, "4m05s"},
		"hours":   {time.Hour + 2*time.Minute, "1h02m"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := elapsed(t0, t0.Add(tc.d), time.Time{}); got != tc.want {
				t.Fatalf("elapsed(%v) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
	if got := elapsed(time.Time{}, t0, t0); got != "" {
		t.Fatalf("elapsed without start = %q", got)
	}
}

func TestFrame(t *testing.T) {
	s := Snapshot{Found: true, Project: "demo", Sequence: "delivery", Service: "carts", Context: "ctx-1", State: "started", Started: t0,
		Runs: []Run{runOf("dev", "started", "",
			Task{Name: "deployment", Status: Done, Result: "pass", Started: t0, Ended: t0.Add(2 * time.Second)},
			Task{Name: "test", Status: Running, Started: t0.Add(2 * time.Second)},
			Task{Name: "release", Status: Pending})}}
	got := strings.Join(Frame(s, t0.Add(5*time.Second)), "\n")
	for _, want := range []string{
		"delivery demo/carts  context ctx-1",
		"state started  elapsed 5.0s",
		"dev            delivery   started            1/3 tasks  5.0s",
		"+ deployment       pass     2.0s",
		"> test             running  3.0s",
		"  release          pending",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("frame lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "result") {
		t.Errorf("running frame shows a result:\n%s", got)
	}
}

// script is a Source that plays snapshots, repeating the last.
type script struct {
	snaps []Snapshot
	i     int
}

func (s *script) Snapshot(context.Context) (Snapshot, error) {
	cur := s.snaps[min(s.i, len(s.snaps)-1)]
	s.i++
	return cur, nil
}

func progression() []Snapshot {
	base := Snapshot{Found: true, Project: "demo", Sequence: "delivery", Service: "carts", Context: "c1", Started: t0}
	a := base
	a.State = "started"
	a.Runs = []Run{runOf("dev", "started", "", Task{Name: "deployment", Status: Running, Started: t0}, Task{Name: "test", Status: Pending})}
	b := base
	b.State = "finished"
	b.Ended = t0.Add(3 * time.Second)
	r := runOf("dev", "finished", "fail",
		Task{Name: "deployment", Status: Done, Result: "pass", Started: t0, Ended: t0.Add(time.Second)},
		Task{Name: "test", Status: Done, Result: "fail", Started: t0.Add(time.Second), Ended: t0.Add(3 * time.Second)})
	r.Ended = t0.Add(3 * time.Second)
	b.Runs = []Run{r}
	return []Snapshot{{Context: "c1"}, a, b}
}

func TestFollowPipe(t *testing.T) {
	var out bytes.Buffer
	code, err := Follow(context.Background(), &script{snaps: progression()}, Options{Out: &out, Interval: time.Millisecond, Now: func() time.Time { return t0.Add(3 * time.Second) }})
	if err != nil || code != ExitFail {
		t.Fatalf("Follow = %d, %v; want %d", code, err, ExitFail)
	}
	want := `keptn-context c1: waiting for the sequence to start
sequence delivery of demo/carts context c1: started
dev delivery: started
dev delivery deployment: running
dev delivery: finished
dev delivery deployment: pass 1.0s
dev delivery test: fail 2.0s
dev delivery: result fail 3.0s
sequence delivery finished: result fail after 3.0s
`
	if out.String() != want {
		t.Fatalf("pipe output:\n%s\nwant:\n%s", out.String(), want)
	}
	if strings.ContainsRune(out.String(), 0x1b) {
		t.Fatal("pipe output has escape codes")
	}
}

func TestFollowTTY(t *testing.T) {
	var out bytes.Buffer
	code, err := Follow(context.Background(), &script{snaps: progression()}, Options{Out: &out, TTY: true, Width: func() int { return 40 }, Interval: time.Millisecond, Now: func() time.Time { return t0.Add(3 * time.Second) }})
	if err != nil || code != ExitFail {
		t.Fatalf("Follow = %d, %v; want %d", code, err, ExitFail)
	}
	s := out.String()
	// Three frames: the second and third start by moving up over the previous.
	if n := strings.Count(s, "\x1b[1A\r\x1b[J"); n != 1 {
		t.Errorf("redraw over the 1-line waiting frame: %d times, want 1:\n%q", n, s)
	}
	if !strings.Contains(s, "\x1b[5A\r\x1b[J") {
		t.Errorf("no redraw over the 5-line running frame:\n%q", s)
	}
	for _, l := range strings.Split(s, "\n") {
		if i := strings.LastIndex(l, "\x1b[J"); i >= 0 {
			l = l[i+3:]
		}
		if len([]rune(l)) >= 40 {
			t.Errorf("line not cut to the width: %q", l)
		}
	}
	if !strings.HasSuffix(s, "result fail\n") {
		t.Errorf("last frame does not end with the result:\n%s", s)
	}
}

func TestFollowTimeout(t *testing.T) {
	var out bytes.Buffer
	now := t0
	src := &script{snaps: progression()[:2]}
	code, err := Follow(context.Background(), src, Options{Out: &out, Interval: time.Millisecond, Timeout: time.Minute,
		Now: func() time.Time { now = now.Add(40 * time.Second); return now }})
	if err != nil || code != ExitAborted {
		t.Fatalf("Follow = %d, %v; want %d", code, err, ExitAborted)
	}
	if !strings.Contains(out.String(), "watch timed out after 1m0s (state started)") {
		t.Fatalf("no timeout line:\n%s", out.String())
	}
}

type failing struct{}

func (failing) Snapshot(context.Context) (Snapshot, error) {
	return Snapshot{}, errors.New("Project not found: x")
}

func TestFollowError(t *testing.T) {
	code, err := Follow(context.Background(), failing{}, Options{Out: &bytes.Buffer{}})
	if err == nil || code != ExitFail {
		t.Fatalf("Follow = %d, %v; want an error and %d", code, err, ExitFail)
	}
}
