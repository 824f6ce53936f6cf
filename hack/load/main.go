// Command load drives N concurrent sequences of M tasks over S services
// through the local runtime with instant executors and reports throughput,
// trigger→first-task latency, queue hand-over and the ratio to the ideal
// computed from the dev broker's bare relay rate.
//
//	go run ./hack/load -runs 1000 -services 100 -tasks 4            # embedded store
//	go run ./hack/load -store firestore ...                          # FIRESTORE_EMULATOR_HOST must be set
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/broker"
	"github.com/slipwayhq/slipway/shared/localrt"
	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
	"github.com/slipwayhq/slipway/shared/store/storeconn"
)

type options struct {
	runs, services, tasks  int
	storeKind              string
	relayN                 int
	cpuprofile, memprofile string
	nosync                 bool
	rate                   float64
	timeout                time.Duration
	repeat                 int
}

// result is one pass's headline figures.
type result struct{ runsPerSec, ideal float64 }

func main() {
	var o options
	flag.IntVar(&o.runs, "runs", 1000, "sequence runs to trigger")
	flag.IntVar(&o.services, "services", 100, "services the runs spread over (runs queue per service)")
	flag.IntVar(&o.tasks, "tasks", 4, "tasks per sequence")
	flag.StringVar(&o.storeKind, "store", "embedded", "embedded or firestore (FIRESTORE_EMULATOR_HOST)")
	flag.IntVar(&o.relayN, "relay", 20000, "events for the bare relay measurement")
	flag.Float64Var(&o.rate, "rate", 0, "runs/s to trigger at, in same-service pairs (0: all at once, saturating)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up after")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the run (runtime included) to this file")
	flag.StringVar(&o.memprofile, "memprofile", "", "write allocation profiles to this file (end) and file.base (start); compare with pprof -diff_base")
	flag.BoolVar(&o.nosync, "nosync", false, "embedded store without fdatasync (diagnostic: what durability costs; not a supported mode)")
	flag.IntVar(&o.repeat, "repeat", 1, "passes, each measuring the relay and then the load on a fresh runtime; prints the median ratio")
	flag.Parse()
	localrt.TuneRuntime(o.storeKind == "embedded") // the runtime's settings: the harness runs it in process
	if o.repeat > 1 && (o.cpuprofile != "" || o.memprofile != "") {
		fmt.Fprintln(os.Stderr, "load: -cpuprofile and -memprofile take one pass (-repeat 1)")
		os.Exit(2)
	}
	var res []result
	for i := range max(o.repeat, 1) {
		if o.repeat > 1 {
			fmt.Printf("--- pass %d of %d\n", i+1, o.repeat)
		}
		r, err := run(o)
		if err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		res = append(res, r)
	}
	if len(res) > 1 {
		summarize(res)
	}
}

// summarize prints the passes' medians and ranges. This VM's speed drifts
// by up to 2× within a minute, so a ratio is taken within one pass (the
// relay measured right before its load) and the passes' median reported.
func summarize(res []result) {
	var rps, ideal, ratio []float64
	for _, r := range res {
		rps = append(rps, r.runsPerSec)
		ideal = append(ideal, r.ideal)
		ratio = append(ratio, 100*r.runsPerSec/r.ideal)
	}
	fmt.Printf("--- %d passes: median (min–max)\n", len(res))
	fmt.Printf("runs/s                         %8.1f  (%.1f–%.1f)\n", median(rps), slices.Min(rps), slices.Max(rps))
	fmt.Printf("ideal runs/s                   %8.1f  (%.1f–%.1f)\n", median(ideal), slices.Min(ideal), slices.Max(ideal))
	fmt.Printf("throughput / ideal             %7.1f%%  (%.1f–%.1f %%)\n", median(ratio), slices.Min(ratio), slices.Max(ratio))
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// recorder is the instant executor: it answers every task .triggered with a
// .started and a .finished and records the times the report needs.
type recorder struct {
	mu         sync.Mutex
	brokerURL  string
	lastTask   string // the type of a run's last task, "lt<tasks>"
	client     *http.Client
	triggered  map[string]time.Time // context → trigger sent
	firstTask  map[string]time.Time // context → first task .triggered received
	queued     map[string]bool      // context → its lane was busy (it waited for another run)
	seenIDs    map[string]time.Time // task .triggered id → first receipt
	dups       []time.Duration      // repeated .triggered: time since the first receipt
	seen       map[string]bool      // service → a run has started on it
	lastFin    map[string]time.Time // service → when its previous run's last .finished was sent
	handover   []time.Duration
	finished   int
	taskEvents int
	done       chan struct{}
	jobs       chan job // task .triggered to answer, for the answerers
	total      int
	errs       int
}

// scope is the part of a task .triggered the executor echoes back.
type scope struct {
	Project string `json:"project"`
	Stage   string `json:"stage"`
	Service string `json:"service"`
}

// answer is the data of the executor's .started and .finished.
type answer struct {
	scope
	Status string `json:"status"`
	Result string `json:"result,omitempty"`
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	body, _ := io.ReadAll(req.Body)
	w.WriteHeader(http.StatusAccepted)
	typ := req.Header.Get("Ce-Type")
	if strings.HasSuffix(typ, ".load.finished") {
		r.mu.Lock()
		r.finished++
		if r.finished == r.total {
			close(r.done)
		}
		r.mu.Unlock()
		return
	}
	kctx := req.Header.Get("Ce-Shkeptncontext")
	id := req.Header.Get("Ce-Id")
	var sc scope
	_ = json.Unmarshal(body, &sc)
	task := strings.TrimSuffix(strings.TrimPrefix(typ, "sh.keptn.event."), ".triggered")
	r.mu.Lock()
	if first, ok := r.seenIDs[id]; ok {
		r.dups = append(r.dups, now.Sub(first))
		r.mu.Unlock()
		return // a repeated delivery: answered already
	}
	r.seenIDs[id] = now
	if task == "lt1" {
		if _, ok := r.firstTask[kctx]; !ok {
			r.firstTask[kctx] = now
			r.queued[kctx] = r.seen[sc.Service]
			r.seen[sc.Service] = true
			// A hand-over: this run was waiting when the run before it on
			// the service sent its last .finished.
			if t, ok := r.lastFin[sc.Service]; ok {
				if r.triggered[kctx].Before(t) {
					r.handover = append(r.handover, now.Sub(t))
				}
				delete(r.lastFin, sc.Service)
			}
		}
	}
	r.mu.Unlock()
	r.jobs <- job{sc: sc, id: id, kctx: kctx, task: task, last: task == r.lastTask}
}

// job is a task .triggered the executor answers.
type job struct {
	sc             scope
	id, kctx, task string
	last           bool // the run's last task
}

// answerers is how many goroutines send the executor's answers: long-lived,
// as the relay's producers are (a goroutine per task grew its stack on
// every HTTP call, 2 % of the process's CPU).
const answerers = 64

// answer sends the .started and the .finished of each job.
func (r *recorder) answer(quit <-chan struct{}) {
	for {
		var j job
		select {
		case j = <-r.jobs:
		case <-quit:
			return
		}
		started, _ := json.Marshal(answer{scope: j.sc, Status: "succeeded"})
		finished, _ := json.Marshal(answer{scope: j.sc, Status: "succeeded", Result: "pass"})
		for _, a := range [2]struct {
			kind string
			data []byte
		}{{"started", started}, {"finished", finished}} {
			if a.kind == "finished" && j.last {
				r.mu.Lock()
				r.lastFin[j.sc.Service] = time.Now()
				r.mu.Unlock()
			}
			rq, _ := http.NewRequest(http.MethodPost, r.brokerURL, bytes.NewReader(a.data))
			rq.Header = http.Header{
				"Ce-Specversion":    {"1.0"},
				"Ce-Id":             {j.id + "-" + a.kind},
				"Ce-Source":         {"load-executor"},
				"Ce-Type":           {"sh.keptn.event." + j.task + "." + a.kind},
				"Ce-Shkeptncontext": {j.kctx},
				"Ce-Triggeredid":    {j.id},
				"Content-Type":      {"application/json"},
			}
			res, err := r.client.Do(rq)
			ok := err == nil && res.StatusCode < 300
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			r.mu.Lock()
			if ok {
				r.taskEvents++
			} else {
				r.errs++
			}
			r.mu.Unlock()
		}
	}
}

func run(o options) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	root, err := repoRoot()
	if err != nil {
		return result{}, err
	}
	relay, err := broker.MeasureRelay(ctx, o.relayN)
	if err != nil {
		return result{}, fmt.Errorf("relay: %w", err)
	}

	// The executor listens first: its Trigger names its URL.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	rec := &recorder{lastTask: fmt.Sprintf("lt%d", o.tasks), client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}},
		triggered: map[string]time.Time{}, firstTask: map[string]time.Time{}, lastFin: map[string]time.Time{},
		queued: map[string]bool{}, seen: map[string]bool{}, seenIDs: map[string]time.Time{},
		done: make(chan struct{}), total: o.runs, jobs: make(chan job, 4*o.runs)}
	quit := make(chan struct{})
	for range answerers {
		go rec.answer(quit)
	}
	// Not close(rec.jobs): a late delivery may still be in ServeHTTP.
	defer close(quit)
	srv := &http.Server{Handler: rec}
	go srv.Serve(l)
	defer srv.Close()

	tmp, err := os.MkdirTemp("", "slipway-load")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(tmp)
	trigDir := filepath.Join(tmp, "triggers")
	if err := os.MkdirAll(trigDir, 0o700); err != nil {
		return result{}, err
	}
	// Only the control plane, the history and the instant executor: the
	// bundled executors would look for scripts on every task.
	for _, f := range []string{"control-plane.yaml", "api.yaml"} {
		raw, err := os.ReadFile(filepath.Join(root, "triggers", f))
		if err != nil {
			return result{}, err
		}
		if err := os.WriteFile(filepath.Join(trigDir, f), raw, 0o600); err != nil {
			return result{}, err
		}
	}
	exec := fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: load-executor}
spec:
  broker: slipway
  filters:
    - any:
        - all: [{prefix: {type: sh.keptn.event.lt}}, {suffix: {type: .triggered}}]
        - exact: {type: sh.keptn.event.dev.load.finished}
  subscriber: {uri: "http://%s/"}
  delivery: {retry: 5, backoffPolicy: exponential, backoffDelay: PT0.1S}
`, l.Addr())
	if err := os.WriteFile(filepath.Join(trigDir, "load.yaml"), []byte(exec), 0o600); err != nil {
		return result{}, err
	}
	open := func(dir string) (store.Store, error) {
		return embedded.OpenOptions(filepath.Join(dir, "store"), embedded.Options{NoSync: o.nosync})
	}
	if o.storeKind == "firestore" {
		if os.Getenv("FIRESTORE_EMULATOR_HOST") == "" {
			return result{}, fmt.Errorf("-store firestore needs FIRESTORE_EMULATOR_HOST")
		}
		open = func(string) (store.Store, error) {
			return storeconn.Open(ctx, storeconn.Config{FirestoreProject: fmt.Sprintf("slipway-load-%d", time.Now().UnixNano())})
		}
	}
	log := zap.NewNop()
	if os.Getenv("SLIPWAY_LOG") != "" {
		c := zap.NewProductionConfig()
		c.Level = zap.NewAtomicLevelAt(zap.DebugLevel)
		c.OutputPaths = []string{"stderr"}
		if log, err = c.Build(); err != nil {
			return result{}, err
		}
	}
	rt, err := localrt.Start(ctx, localrt.Config{DataDir: filepath.Join(tmp, "data"), APIAddr: "127.0.0.1:0",
		BrokerAddr: "127.0.0.1:0", ProjectTriggers: trigDir, SweepInterval: time.Second,
		TaskStartedWaitDuration: 10 * time.Minute}, open, log, nil)
	if err != nil {
		return result{}, err
	}
	defer rt.Close(context.Background())
	rec.brokerURL = rt.BrokerURL

	api := &apiClient{base: rt.APIURL, token: rt.Token, c: rec.client}
	if err := api.setup(o); err != nil {
		return result{}, err
	}
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return result{}, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return result{}, err
		}
		defer pprof.StopCPUProfile()
	}
	if o.memprofile != "" {
		// Allocations are counted from process start; the .base profile lets
		// pprof -diff_base subtract the relay measurement and the setup.
		if err := writeHeap(o.memprofile + ".base"); err != nil {
			return result{}, err
		}
		defer func() {
			if err := writeHeap(o.memprofile); err != nil {
				fmt.Fprintln(os.Stderr, "load:", err)
			}
		}()
	}
	start := time.Now()
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := 0; i < o.runs; i++ {
		service := fmt.Sprintf("svc%d", i%o.services)
		if o.rate > 0 {
			// Paced: runs come in pairs on one service, both at once, so the
			// second queues behind the first and measures one hand-over.
			// (Pairs sent 1/rate apart stopped queueing once a run took
			// less than that.)
			service = fmt.Sprintf("svc%d", (i/2)%o.services)
			pair := i / 2 * 2
			time.Sleep(time.Until(start.Add(time.Duration(float64(pair) / o.rate * float64(time.Second)))))
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, service string) {
			defer wg.Done()
			defer func() { <-sem }()
			kctx := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			rec.mu.Lock()
			rec.triggered[kctx] = time.Now()
			rec.mu.Unlock()
			if err := api.trigger(kctx, service); err != nil {
				rec.mu.Lock()
				rec.errs++
				rec.mu.Unlock()
			}
		}(i, service)
	}
	wg.Wait()
	select {
	case <-rec.done:
	case <-ctx.Done():
		return result{}, diagnose(rt, rec, o)
	}
	elapsed := time.Since(start)
	stats := rt.Broker.Stats()
	res := report(o, rec, elapsed, relay, stats)
	if os.Getenv("DUMPRUN") != "" {
		runs, _, _ := rt.Store.ListRuns(ctx, store.RunQuery{Project: "load"}, store.Page{Size: 2})
		for _, r := range runs {
			fmt.Printf("RUN %d bytes acked=%d due=%v\n%s\n", len(r.Body), r.AckedSeq, r.Due, r.Body)
		}
	}
	return res, nil
}

func writeHeap(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("allocs").WriteTo(f, 0)
}

// diagnose explains a run that did not finish: executor send errors and the
// state of every unfinished context.
func diagnose(rt *localrt.Runtime, rec *recorder, o options) error {
	rec.mu.Lock()
	finished, errs := rec.finished, rec.errs
	rec.mu.Unlock()
	views, err := rt.ControlPlane.Contexts(context.Background(), "load", nil)
	if err != nil {
		return err
	}
	states := map[string]int{}
	shown := 0
	for _, v := range views {
		states[v.State]++
		if v.State != "finished" && shown < 5 {
			shown++
			raw, _ := json.Marshal(v)
			fmt.Fprintf(os.Stderr, "unfinished: %s\n", raw)
		}
	}
	fmt.Fprintf(os.Stderr, "broker: %+v\n", rt.Broker.Stats())
	return fmt.Errorf("timed out: %d of %d runs finished, %d executor send errors, context states %v", finished, o.runs, errs, states)
}

func report(o options, rec *recorder, elapsed time.Duration, relay broker.Relay, st broker.Stats) result {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var lat []time.Duration
	// Latency counts runs whose lane was free; queued runs wait for the run
	// before them, which the hand-over figure measures.
	for k, t := range rec.firstTask {
		if t0, ok := rec.triggered[k]; ok && !rec.queued[k] {
			lat = append(lat, t.Sub(t0))
		}
	}
	runsPerSec := float64(o.runs) / elapsed.Seconds()
	hops := float64(st.Delivered) / float64(o.runs)
	// Every event a run needs enters the broker through the HTTP ingress
	// (the runs' triggers come from the API in process, a negligible few).
	ingress := float64(st.Accepted) / float64(o.runs)
	ideal := relay.IdealRunsPerSec(ingress, hops)
	mode := "saturating (all runs triggered at once)"
	if o.rate > 0 {
		mode = fmt.Sprintf("paced at %.0f runs/s in same-service pairs", o.rate)
	}
	fmt.Printf("store=%s runs=%d services=%d tasks=%d %s elapsed=%s errors=%d\n", o.storeKind, o.runs, o.services, o.tasks, mode, elapsed.Round(time.Millisecond), rec.errs)
	fmt.Printf("runs/s                         %8.1f\n", runsPerSec)
	fmt.Printf("task events/s (.started+.finished) %6.1f\n", float64(rec.taskEvents)/elapsed.Seconds())
	fmt.Printf("trigger→first task p50/p99 (n=%d, lane free) %s / %s\n", len(lat), pct(lat, 50), pct(lat, 99))
	fmt.Printf("queue hand-over p50/p99 (n=%d) %8s / %s\n", len(rec.handover), pct(rec.handover, 50), pct(rec.handover, 99))
	fmt.Printf("repeated task .triggered       %8d  (p50 %s after the first)\n", len(rec.dups), pct(rec.dups, 50))
	fmt.Printf("broker deliveries per run      %8.1f  (retries %d, dead-lettered %d)\n", hops, st.Retries, st.DeadLettered)
	fmt.Printf("broker ingress events per run  %8.1f\n", ingress)
	fmt.Printf("bare relay: deliveries/s       %8.0f  (in-process publish → no-op subscriber)\n", relay.DeliveriesPerSec)
	fmt.Printf("bare relay: hops/s             %8.0f  (HTTP ingress → no-op subscriber)\n", relay.HopsPerSec)
	fmt.Printf("ideal runs/s                   %8.1f  (1 ÷ (ingress/run × ingress cost + deliveries/run ÷ delivery rate))\n", ideal)
	fmt.Printf("ideal runs/s, deliveries only  %8.1f  (delivery rate ÷ deliveries/run, ignoring ingress: a looser bound)\n", relay.DeliveriesPerSec/hops)
	fmt.Printf("throughput / ideal             %7.1f%%\n", 100*runsPerSec/ideal)
	return result{runsPerSec: runsPerSec, ideal: ideal}
}

func pct(d []time.Duration, p int) string {
	if len(d) == 0 {
		return "-"
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i].Round(100 * time.Microsecond).String()
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "triggers", "control-plane.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run from inside the repository (triggers/ not found)")
		}
		dir = parent
	}
}
