package bridge

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/keptn"
)

func benchShipyard() string {
	var tasks []string
	for i := 1; i <= 50; i++ {
		tasks = append(tasks, fmt.Sprintf("{name: task%02d}", i))
	}
	return `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: big}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks: [{name: deployment}]
        - name: long
          tasks: [` + strings.Join(tasks, ", ") + `]
`
}

// fillRuns applies n finished one-task runs through the control plane
// (20 services, so lanes and queues are realistic), without history.
func (s *stack) fillRuns(b *testing.B, n int) {
	ctx := context.Background()
	base := time.Now().Add(-time.Duration(n) * time.Second)
	for i := 0; i < n; i++ {
		at := base.Add(time.Duration(i) * time.Second)
		ev, err := keptn.NewEvent(keptn.SequenceType("dev", "delivery", keptn.KindTriggered),
			keptn.Meta{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Source: "bench", Time: at,
				Context: fmt.Sprintf("10000000-0000-4000-8000-%012d", i)},
			map[string]any{"project": "big", "stage": "dev", "service": fmt.Sprintf("svc%02d", i%20),
				"configurationChange": map[string]any{"values": map[string]any{"image": fmt.Sprintf("docker.io/svc:%d", i)}}})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.fn.Handle(ctx, ev); err != nil {
			b.Fatal(err)
		}
		trig := s.take(b, "sh.keptn.event.deployment.triggered")
		fin, err := keptn.Respond(trig, keptn.KindFinished, keptn.Meta{ID: fmt.Sprintf("20000000-0000-4000-8000-%012d", i),
			Source: "bench", Time: at.Add(500 * time.Millisecond)},
			keptn.Data{Status: keptn.StatusSucceeded, Result: keptn.ResultPass}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.fn.Handle(ctx, fin); err != nil {
			b.Fatal(err)
		}
		s.mu.Lock()
		s.queue = s.queue[:0]
		s.mu.Unlock()
	}
}

// take removes and returns the queued event of type typ.
func (s *stack) take(b *testing.B, typ string) event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range s.queue {
		if e.Type() == typ {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			return e
		}
	}
	b.Fatalf("no %s queued", typ)
	return event.Event{}
}

// benchPage loads path repeatedly and reports the 50th and 95th percentile.
func benchPage(b *testing.B, s *stack, path, want string) {
	w := s.call("GET", path, nil, nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), want) {
		b.Fatalf("GET %s = %d, lacks %q", path, w.Code, want)
	}
	var took []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		req := httptest.NewRequest("GET", path, nil)
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		took = append(took, time.Since(start))
		if rec.Code != 200 {
			b.Fatalf("GET %s = %d", path, rec.Code)
		}
	}
	slices.Sort(took)
	pct := func(p float64) float64 {
		return float64(took[min(len(took)-1, int(float64(len(took))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(float64(w.Body.Len())/1024, "page-KiB")
}

// bigStack is a project with 10,000 finished runs and one finished run of
// a 50-task sequence (with its whole event history).
func bigStack(b *testing.B) (*stack, string) {
	s := newStack(b, Config{})
	s.createProject("big", benchShipyard(), func() []string {
		var out []string
		for i := 0; i < 20; i++ {
			out = append(out, fmt.Sprintf("svc%02d", i))
		}
		return out
	}()...)
	s.fillRuns(b, 10000)
	kctx := s.trigger("big", "dev", "long", "svc00", nil)
	for i := 1; i <= 50; i++ {
		o := s.open("big", fmt.Sprintf("task%02d", i), kctx)
		if o == nil {
			b.Fatalf("task%02d not open", i)
		}
		s.finish(o, "bench-executor", "pass")
	}
	return s, kctx
}

func BenchmarkPages(b *testing.B) {
	s, kctx := bigStack(b)
	b.Run("sequence-50-tasks", func(b *testing.B) {
		benchPage(b, s, "/bridge/project/big/sequence/"+kctx, "task50")
	})
	b.Run("sequence-list-10000-runs", func(b *testing.B) {
		benchPage(b, s, "/bridge/project/big/sequence", "svc")
	})
	b.Run("sequence-list-filtered", func(b *testing.B) {
		benchPage(b, s, "/bridge/project/big/sequence?service=svc07&state=finished", "svc07")
	})
	b.Run("environment-20-services", func(b *testing.B) {
		benchPage(b, s, "/bridge/project/big", "docker.io/svc:")
	})
	b.Run("service-chart", func(b *testing.B) {
		benchPage(b, s, "/bridge/project/big/service/svc03", `class="chart"`)
	})
}
