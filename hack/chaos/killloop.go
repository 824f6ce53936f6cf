package main

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
	"github.com/slipwayhq/slipway/shared/store/storeconn"
)

// Store kinds of the kill -9 loop.
const (
	// StoreEmbedded is one runtime process on a data directory, killed and
	// restarted on it.
	StoreEmbedded = "embedded"
	// StoreFirestore is two runtime processes on one Firestore (emulator)
	// database, each with its own broker, API and sweeper, as two replicas
	// of the control-plane function behind one Broker; one of them is
	// killed at a time while the other keeps working.
	StoreFirestore = "firestore"
)

// Options size one kill -9 loop.
type Options struct {
	Binary   string // the local runtime (hack/local) built by the caller
	RepoRoot string
	Store    string // StoreEmbedded ("" too) or StoreFirestore (needs FIRESTORE_EMULATOR_HOST)
	Runs     int    // sequence runs (contexts)
	Services int
	Tasks    int
	Kills    int           // SIGKILLs at random moments
	MaxUp    time.Duration // a life lasts a random time up to this
	Timeout  time.Duration
	Seed     uint64
	Log      io.Writer // progress lines (nil: none)
	LogDir   string    // the runtimes' stderr go to files here ("" = discarded)
	// Work is how long the executor works between a task's .started and
	// .finished (0: it sends both at once). The Firestore emulator makes
	// two transactions that read and write one document at the same time
	// wait 2 s for its lock (measured: two concurrent read-modify-write
	// transactions on one document take 2.0 s, then one retries); an
	// executor answering .started and .finished in the same millisecond
	// makes every task such a pair, which no real executor does.
	Work time.Duration
}

// Report is what the loop measured and checked.
type Report struct {
	Store                           string
	Processes                       int
	Kills, Runs, Finished, TimedOut int
	Resends                         int // triggers sent again after a kill: the control plane did not know the sequence (same id)
	TasksSeen, TasksLostInBroker    int
	// Redelivered counts task .triggered deliveries of an id the executor
	// had already seen: the outbox retry (or a broker retry) sending an
	// event again that had been delivered before the kill.
	Redelivered int
	// RunWait is how long runs took from the first send of their trigger to
	// their sequence .finished at the executor (p50, p95, max).
	RunWaitP50, RunWaitP95, RunWaitMax time.Duration
	Elapsed                            time.Duration
	Problems                           []string // broken invariants; empty when all hold
}

const chaosToken = "chaos-token-0123456789abcdef"

// resendAfter is how long the client waits after sending a trigger before
// it may send it again (once the control plane does not know it).
const resendAfter = 10 * time.Second

// KillLoop triggers o.Runs sequences through the API of local runtime
// processes, kills one with SIGKILL o.Kills times at random moments and
// restarts it on the same data (directory or Firestore database), then
// checks the invariants on the stopped store.
func KillLoop(ctx context.Context, o Options) (Report, error) {
	if o.Store == "" {
		o.Store = StoreEmbedded
	}
	if o.Store != StoreEmbedded && o.Store != StoreFirestore {
		return Report{}, fmt.Errorf("store %q: want %s or %s", o.Store, StoreEmbedded, StoreFirestore)
	}
	if o.Store == StoreFirestore && os.Getenv("FIRESTORE_EMULATOR_HOST") == "" {
		return Report{}, errors.New("the Firestore kill loop needs FIRESTORE_EMULATOR_HOST (hack/emulator.sh start)")
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	rnd := rand.New(rand.NewPCG(o.Seed, 15))
	tmp, err := os.MkdirTemp("", "slipway-chaos")
	if err != nil {
		return Report{}, err
	}
	defer os.RemoveAll(tmp)
	ex := newExecutor(o.Tasks)
	ex.work = o.Work
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Report{}, err
	}
	srv := &http.Server{Handler: ex}
	go srv.Serve(l)
	defer srv.Close()

	// The processes' environments. Every process has fixed API and broker
	// ports (a restart comes back on the same addresses, as a Service
	// would) and its own Triggers: the executor's subscriber URL names the
	// process whose broker delivered, so it answers to that broker.
	n := 1
	common := []string{
		"SLIPWAY_STORE=" + o.Store,
		"SLIPWAY_API_TOKEN=" + chaosToken, "SLIPWAY_SWEEP_INTERVAL=200ms",
		// Short timers so a task whose events the in-memory broker lost in
		// a kill ends within the loop instead of after 10 minutes.
		"TASK_STARTED_WAIT_DURATION=15s", "TASK_FINISHED_TIMEOUT=20s", "OUTBOX_RETRY=2s",
	}
	var fsConf storeconn.Config
	if o.Store == StoreFirestore {
		n = 2
		// A prefix of its own per loop: runs of the loop (and other tests)
		// share the emulator.
		fsConf = storeconn.Config{FirestoreProject: "slipway-chaos",
			FirestorePrefix: fmt.Sprintf("chaos%d_%d_", o.Seed%1e6, time.Now().UnixNano()%1e9)}
		key := make([]byte, 32)
		if _, err := crand.Read(key); err != nil {
			return Report{}, err
		}
		common = append(common, "FIRESTORE_PROJECT="+fsConf.FirestoreProject, "FIRESTORE_PREFIX="+fsConf.FirestorePrefix,
			// Each sweep queries the due runs; two processes every 200 ms
			// kept the emulator's one busy thread busier (a cluster sweeps
			// once a minute).
			"SLIPWAY_SWEEP_INTERVAL=1s",
			// One secrets key for both, as replicas share one Secret.
			"SLIPWAY_SECRETS_KEY="+base64.StdEncoding.EncodeToString(key))
	}
	procs := make([]*proc, n)
	for i := range procs {
		trig := filepath.Join(tmp, fmt.Sprintf("triggers%d", i))
		if err := writeTriggers(o.RepoRoot, trig, fmt.Sprintf("%s/p%d", l.Addr(), i)); err != nil {
			return Report{}, err
		}
		apiPort, err := freePort()
		if err != nil {
			return Report{}, err
		}
		brokerPort, err := freePort()
		if err != nil {
			return Report{}, err
		}
		data := filepath.Join(tmp, "data")
		if n > 1 {
			data += strconv.Itoa(i)
		}
		p := &proc{bin: o.Binary, env: append(slices.Clone(common),
			"SLIPWAY_DATA_DIR="+data, "SLIPWAY_API_ADDR="+apiPort, "SLIPWAY_BROKER_ADDR="+brokerPort,
			"SLIPWAY_PROJECT_TRIGGERS="+trig)}
		if o.LogDir != "" {
			p.logFile = filepath.Join(o.LogDir, fmt.Sprintf("runtime%d.log", i))
		}
		procs[i] = p
		if err := p.start(ctx); err != nil {
			return Report{}, err
		}
		defer p.kill()
		ex.brokers = append(ex.brokers, p.broker)
	}
	api := &client{token: chaosToken, c: &http.Client{Timeout: 10 * time.Second}}
	for _, p := range procs {
		api.bases = append(api.bases, p.api)
	}
	if err := api.setup(ctx, o); err != nil {
		return Report{}, fmt.Errorf("setup: %w", err)
	}

	start := time.Now()
	rep := Report{Store: o.Store, Processes: n, Runs: o.Runs}
	ctxs := make([]string, o.Runs)
	for i := range ctxs {
		ctxs[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	}
	// The client: each context's trigger (a fixed event id) is sent once,
	// and again after a kill until the control plane knows its sequence:
	// the dev broker's queue is in memory, so a trigger accepted just
	// before a kill is lost unless its client sends it again (the id makes
	// that count once). Before sending again it asks the API whether the
	// context has a sequence (the run is committed, its outbox carries it
	// from there): sending every unfinished trigger after every kill
	// buried the Firestore emulator in duplicate transactions (1,200 runs,
	// 60 kills: progress stopped for minutes).
	var (
		sendMu  sync.Mutex // one sender at a time
		sentMu  sync.Mutex
		sent    = make([]int, o.Runs)       // generation it was last sent in (0: never, -1: refused)
		known   = make([]bool, o.Runs)      // the control plane has its run
		firstAt = make([]time.Time, o.Runs) // first send
		lastAt  = make([]time.Time, o.Runs) // last send
		gen     = 1
		resends int
	)
	sendPending := func(g, upTo int) {
		sendMu.Lock()
		defer sendMu.Unlock()
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for i, kctx := range ctxs[:upTo] {
			sentMu.Lock()
			again := sent[i] != 0
			// Not again within resendAfter of the last send: a trigger
			// the control plane has not taken yet is most often waiting
			// in a live broker's queue behind a blocked handler, and a
			// duplicate only adds to that queue.
			skip := sent[i] == g || known[i] || ex.finished(kctx) || sent[i] > 0 && time.Since(lastAt[i]) < resendAfter
			if !skip && !again {
				firstAt[i] = time.Now()
			}
			if !skip {
				sent[i] = g
				lastAt[i] = time.Now()
			}
			sentMu.Unlock()
			if skip {
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if again {
					if ok, err := api.known(ctx, kctx); err == nil && ok {
						sentMu.Lock()
						known[i] = true
						sentMu.Unlock()
						return
					}
					sentMu.Lock()
					resends++
					sentMu.Unlock()
				}
				if api.trigger(ctx, kctx, fmt.Sprintf("svc%d", i%o.Services)) != nil {
					sentMu.Lock()
					sent[i] = -1 // refused (no runtime up): send again
					sentMu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	for k := 0; k < o.Kills; k++ {
		life := time.Duration(rnd.Int64N(int64(o.MaxUp)))
		lifeEnd := time.Now().Add(life)
		// Trigger during the life, then kill at a random moment.
		// New runs arrive over the whole loop, so kills land while runs
		// are in flight, not after they all finished.
		go sendPending(gen, min(o.Runs, (k+1)*o.Runs/o.Kills))
		time.Sleep(time.Until(lifeEnd))
		victim := procs[rnd.IntN(n)]
		victim.kill()
		rep.Kills++
		gen++
		if n > 1 {
			// The survivor works alone for a while, as a cluster does
			// until the killed replica's pod is back.
			time.Sleep(time.Duration(rnd.Int64N(int64(o.MaxUp/2) + 1)))
		}
		if err := victim.start(ctx); err != nil {
			return rep, fmt.Errorf("restart after kill %d: %w", k+1, err)
		}
		if o.Log != nil && (k+1)%10 == 0 {
			fmt.Fprintf(o.Log, "kill %d/%d, %d runs finished so far\n", k+1, o.Kills, ex.finishedCount())
		}
	}
	// Quiet: no more kills; send every unfinished trigger once more (the
	// last kill may have lost it in a broker queue), then only those never
	// sent or refused, and wait for every run to end. With no process
	// killed since, an accepted trigger is not lost: sending it again
	// every round would only load the store with duplicates.
	gen++
	for ex.finishedCount() < o.Runs {
		if ctx.Err() != nil {
			return rep, fmt.Errorf("%d of %d runs finished before the timeout", ex.finishedCount(), o.Runs)
		}
		sendPending(gen, o.Runs)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && ex.finishedCount() < o.Runs {
			time.Sleep(100 * time.Millisecond)
		}
	}
	// No lane left held: one more run per service starts and ends.
	for s := 0; s < o.Services; s++ {
		kctx := fmt.Sprintf("00000000-0000-4000-9000-%012d", s)
		ctxs = append(ctxs, kctx)
		if err := api.trigger(ctx, kctx, fmt.Sprintf("svc%d", s)); err != nil {
			return rep, fmt.Errorf("final trigger: %w", err)
		}
	}
	for ex.finishedCount() < len(ctxs) {
		if ctx.Err() != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("a lane is held: %d of %d final runs finished", ex.finishedCount()-o.Runs, o.Services))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	rep.Elapsed = time.Since(start)
	sentMu.Lock()
	rep.Resends = resends
	rep.RunWaitP50, rep.RunWaitP95, rep.RunWaitMax = ex.waits(ctxs[:o.Runs], firstAt)
	sentMu.Unlock()
	rep.Redelivered = ex.redeliveredCount()
	for _, p := range procs {
		if err := p.stop(); err != nil {
			return rep, err
		}
	}
	var st store.Store
	if o.Store == StoreFirestore {
		st, err = storeconn.Open(ctx, fsConf)
	} else {
		st, err = embedded.Open(filepath.Join(tmp, "data", "store"))
	}
	if err != nil {
		return rep, fmt.Errorf("reopen the store: %w", err)
	}
	defer st.Close()
	return rep, check(ctx, st, ctxs, o, ex, &rep)
}

// check checks the invariants on the store the stopped runtimes used.
func check(ctx context.Context, st store.Store, ctxs []string, o Options, ex *executor, rep *Report) error {
	runs, err := listAll(ctx, st)
	if err != nil {
		return err
	}
	byCtx := map[string][]*store.Run{}
	for _, r := range runs {
		byCtx[r.KeptnContext] = append(byCtx[r.KeptnContext], r)
	}
	bad := func(f string, a ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(f, a...)) }
	for _, kctx := range ctxs {
		rs := byCtx[kctx]
		if len(rs) != 1 {
			bad("context %s has %d runs, want 1 (lost or duplicated)", kctx, len(rs))
			continue
		}
		var r engine.Run
		if err := json.Unmarshal(rs[0].Body, &r); err != nil {
			return fmt.Errorf("decode run %s: %w", rs[0].ID, err)
		}
		switch r.Status.State {
		case engine.StateFinished:
			rep.Finished++
		case engine.StateTimedOut:
			rep.TimedOut++
		default:
			bad("run %s is %s, not finished", r.ID, r.Status.State)
		}
		names := map[string]bool{}
		for _, t := range r.Status.PreviousTasks {
			if names[t.Name] {
				bad("run %s: task %s applied twice", r.ID, t.Name)
			}
			names[t.Name] = true
			if ex.saw(t.TriggeredID) {
				rep.TasksSeen++
				continue
			}
			evs, _, err := st.ListEvents(ctx, store.EventQuery{Project: "load", ID: t.TriggeredID}, store.Page{})
			if err != nil {
				return err
			}
			if len(evs) == 0 {
				// Published (the run moved past it only on a timeout) but
				// the kill lost it in the in-memory broker queue.
				rep.TasksLostInBroker++
				if t.Status != "errored" && r.Status.State != engine.StateTimedOut {
					bad("run %s: task %s (%s) was never delivered yet completed %s", r.ID, t.Name, t.TriggeredID, t.Status)
				}
			}
		}
		if r.Status.State == engine.StateFinished && len(r.Status.PreviousTasks) != o.Tasks {
			bad("run %s finished with %d tasks, want %d", r.ID, len(r.Status.PreviousTasks), o.Tasks)
		}
		// No duplicate transition in the history: one id per task
		// .triggered and per sequence .finished of the context.
		evs, err := listEvents(ctx, st, kctx)
		if err != nil {
			return err
		}
		ids := map[string]map[string]bool{}
		for _, e := range evs {
			if !strings.HasSuffix(e.Type, ".triggered") && !strings.HasSuffix(e.Type, ".finished") || e.Source == "load-executor" {
				continue
			}
			if ids[e.Type] == nil {
				ids[e.Type] = map[string]bool{}
			}
			ids[e.Type][e.ID] = true
		}
		for typ, set := range ids {
			if len(set) > 1 && typ != "sh.keptn.event.dev.load.triggered" {
				bad("context %s: %d different %s events (a transition applied twice)", kctx, len(set), typ)
			}
		}
	}
	for s := 0; s < o.Services; s++ {
		err := st.Update(ctx, func(tx store.Tx) error {
			_, err := tx.GetLane(store.LaneKey{Project: "load", Stage: "dev", Service: fmt.Sprintf("svc%d", s)})
			return err
		})
		if !errors.Is(err, store.ErrNotFound) {
			bad("lane svc%d still held (%v)", s, err)
		}
	}
	return nil
}

func listAll(ctx context.Context, st store.Store) ([]*store.Run, error) {
	var out []*store.Run
	p := store.Page{Size: 500}
	for {
		rs, next, err := st.ListRuns(ctx, store.RunQuery{Project: "load"}, p)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
		if next == "" {
			return out, nil
		}
		p.Token = next
	}
}

func listEvents(ctx context.Context, st store.Store, kctx string) ([]*store.Event, error) {
	var out []*store.Event
	p := store.Page{Size: 500}
	for {
		es, next, err := st.ListEvents(ctx, store.EventQuery{Project: "load", KeptnContext: kctx}, p)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
		if next == "" {
			return out, nil
		}
		p.Token = next
	}
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// writeTriggers copies the control plane's and the history's Triggers and
// adds the instant executor's (as hack/load does).
func writeTriggers(root, dir, execAddr string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, f := range []string{"control-plane.yaml", "api.yaml"} {
		raw, err := os.ReadFile(filepath.Join(root, "triggers", f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f), raw, 0o600); err != nil {
			return err
		}
	}
	exec := fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: chaos-executor}
spec:
  broker: slipway
  filters:
    - any:
        - all: [{prefix: {type: sh.keptn.event.lt}}, {suffix: {type: .triggered}}]
        - exact: {type: sh.keptn.event.dev.load.finished}
  subscriber: {uri: "http://%s/"}
  delivery: {retry: 5, backoffPolicy: exponential, backoffDelay: PT0.1S}
`, execAddr)
	return os.WriteFile(filepath.Join(dir, "chaos.yaml"), []byte(exec), 0o600)
}

// proc is the runtime process.
type proc struct {
	bin         string
	env         []string
	cmd         *exec.Cmd
	api, broker string
	logFile     string // the runtime's stderr goes here ("" = discarded)
}

func (p *proc) start(ctx context.Context) error {
	cmd := exec.Command(p.bin)
	cmd.Env = append(os.Environ(), p.env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = io.Discard
	if p.logFile != "" {
		f, err := os.OpenFile(p.logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close() // the child holds its own descriptor
		cmd.Stderr = f
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	p.cmd = cmd
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	up := time.NewTimer(60 * time.Second)
	defer up.Stop()
	var api, broker string
	for api == "" || broker == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				return errors.New("runtime exited before it was up")
			}
			if v, ok := strings.CutPrefix(l, "SLIPWAY_API_URL="); ok {
				api = v
			} else if v, ok := strings.CutPrefix(l, "SLIPWAY_BROKER_URL="); ok {
				broker = v
			}
		case <-up.C:
			return errors.New("runtime not up after 60s")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	go func() {
		for range lines {
		}
	}()
	p.api, p.broker = api, broker
	return nil
}

// kill is SIGKILL: no shutdown, no flush.
func (p *proc) kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
	p.cmd = nil
}

func (p *proc) stop() error {
	if p.cmd == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	err := p.cmd.Wait()
	p.cmd = nil
	if err != nil {
		return fmt.Errorf("runtime shutdown: %w", err)
	}
	return nil
}

// executor is the instant executor: it answers every task .triggered with
// .started and .finished (ids derived from the .triggered id, so a resend
// counts once) and records what it saw.
type executor struct {
	brokers []string // per process, set before the first delivery
	c       *http.Client
	work    time.Duration // between .started and .finished

	mu          sync.Mutex
	seen        map[string]bool      // task .triggered ids
	done        map[string]time.Time // contexts whose sequence .finished arrived, when
	redelivered int                  // .triggered deliveries of an id seen before
	lastTask    string
}

func newExecutor(tasks int) *executor {
	return &executor{c: &http.Client{Timeout: 5 * time.Second}, seen: map[string]bool{}, done: map[string]time.Time{},
		lastTask: fmt.Sprintf("lt%d", tasks)}
}

func (x *executor) saw(id string) bool { x.mu.Lock(); defer x.mu.Unlock(); return x.seen[id] }
func (x *executor) finished(kctx string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	_, ok := x.done[kctx]
	return ok
}
func (x *executor) finishedCount() int    { x.mu.Lock(); defer x.mu.Unlock(); return len(x.done) }
func (x *executor) redeliveredCount() int { x.mu.Lock(); defer x.mu.Unlock(); return x.redelivered }

// waits returns the p50, p95 and maximum of the time from each context's
// first trigger send to its sequence .finished.
func (x *executor) waits(ctxs []string, firstAt []time.Time) (p50, p95, max time.Duration) {
	x.mu.Lock()
	var ds []time.Duration
	for i, kctx := range ctxs {
		if at, ok := x.done[kctx]; ok && !firstAt[i].IsZero() {
			ds = append(ds, at.Sub(firstAt[i]))
		}
	}
	x.mu.Unlock()
	if len(ds) == 0 {
		return 0, 0, 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)*95/100], ds[len(ds)-1]
}

func (x *executor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	typ, id, kctx := r.Header.Get("Ce-Type"), r.Header.Get("Ce-Id"), r.Header.Get("Ce-Shkeptncontext")
	// The subscriber URL's path names the process whose broker delivered.
	origin, _ := strconv.Atoi(strings.Trim(strings.TrimPrefix(r.URL.Path, "/p"), "/"))
	if origin < 0 || origin >= len(x.brokers) {
		origin = 0
	}
	w.WriteHeader(http.StatusAccepted)
	if strings.HasSuffix(typ, ".load.finished") {
		x.mu.Lock()
		if _, ok := x.done[kctx]; !ok {
			x.done[kctx] = time.Now()
		}
		x.mu.Unlock()
		return
	}
	x.mu.Lock()
	if x.seen[id] {
		x.redelivered++
	}
	x.seen[id] = true
	x.mu.Unlock()
	var sc struct {
		Project string `json:"project"`
		Stage   string `json:"stage"`
		Service string `json:"service"`
	}
	_ = json.Unmarshal(body, &sc)
	task := strings.TrimSuffix(strings.TrimPrefix(typ, "sh.keptn.event."), ".triggered")
	go x.answer(sc, task, id, kctx, origin)
}

// answer sends .started and .finished to the broker of the process that
// delivered the .triggered, and to the next process's broker after a
// failure (that process is down), retrying for up to a minute: an
// executor's at-least-once send.
func (x *executor) answer(sc any, task, id, kctx string, origin int) {
	b := origin
	for _, kind := range []string{"started", "finished"} {
		data := map[string]any{"status": "succeeded"}
		raw, _ := json.Marshal(sc)
		_ = json.Unmarshal(raw, &data)
		if kind == "finished" {
			data["result"] = "pass"
			time.Sleep(x.work)
		}
		body, _ := json.Marshal(data)
		for try := 0; try < 600; try++ {
			rq, _ := http.NewRequest(http.MethodPost, x.brokers[b], bytes.NewReader(body))
			rq.Header = http.Header{
				"Ce-Specversion": {"1.0"}, "Ce-Id": {id + "-" + kind}, "Ce-Source": {"load-executor"},
				"Ce-Type": {"sh.keptn.event." + task + "." + kind}, "Ce-Shkeptncontext": {kctx},
				"Ce-Triggeredid": {id}, "Content-Type": {"application/json"},
			}
			res, err := x.c.Do(rq)
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode < 300 {
					break
				}
			}
			b = (b + 1) % len(x.brokers)
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// client is the Keptn API client. With several processes it spreads its
// requests over their APIs and moves on to the next one when a process
// does not answer (it is down), as a client behind a Service would.
type client struct {
	bases []string
	token string
	c     *http.Client
	next  atomic.Uint32
}

func (a *client) post(ctx context.Context, path string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	first := int(a.next.Add(1))
	var res *http.Response
	for i := range a.bases {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.bases[(first+i)%len(a.bases)]+path, bytes.NewReader(raw))
		if err != nil {
			return err
		}
		req.Header.Set("x-token", a.token)
		req.Header.Set("Content-Type", "application/json")
		if res, err = a.c.Do(req); err == nil {
			break
		}
		if i == len(a.bases)-1 {
			return err
		}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return fmt.Errorf("POST %s: %d %s", path, res.StatusCode, b)
	}
	return nil
}

func (a *client) setup(ctx context.Context, o Options) error {
	var tasks []string
	for i := 1; i <= o.Tasks; i++ {
		tasks = append(tasks, fmt.Sprintf("{name: lt%d}", i))
	}
	sy := fmt.Sprintf("apiVersion: spec.keptn.sh/0.2.3\nkind: Shipyard\nmetadata: {name: load}\nspec:\n  stages:\n"+
		"    - name: dev\n      sequences:\n        - name: load\n          tasks: [%s]\n", strings.Join(tasks, ", "))
	if err := a.post(ctx, "/api/controlPlane/v1/project", map[string]any{"name": "load",
		"shipyard": base64.StdEncoding.EncodeToString([]byte(sy))}); err != nil {
		return err
	}
	for s := 0; s < o.Services; s++ {
		if err := a.post(ctx, "/api/controlPlane/v1/project/load/service", map[string]any{"serviceName": fmt.Sprintf("svc%d", s)}); err != nil {
			return err
		}
	}
	return nil
}

// known reports whether the control plane has a sequence for the context
// (Keptn's sequence state listing filtered by keptnContext).
func (a *client) known(ctx context.Context, kctx string) (bool, error) {
	first := int(a.next.Add(1))
	var lastErr error
	for i := range a.bases {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet,
			a.bases[(first+i)%len(a.bases)]+"/api/controlPlane/v1/sequence/load?keptnContext="+kctx, nil)
		if err != nil {
			return false, err
		}
		req.Header.Set("x-token", a.token)
		res, err := a.c.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		var body struct {
			States []json.RawMessage `json:"states"`
		}
		err = json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || err != nil {
			return false, fmt.Errorf("sequence states of %s: %d %v", kctx, res.StatusCode, err)
		}
		return len(body.States) > 0, nil
	}
	return false, lastErr
}

// trigger sends the context's sequence trigger with a fixed event id.
func (a *client) trigger(ctx context.Context, kctx, service string) error {
	return a.post(ctx, "/api/v1/event", map[string]any{"type": "sh.keptn.event.dev.load.triggered", "specversion": "1.0",
		"id": "11111111" + strings.TrimPrefix(kctx, "00000000"), "source": "chaos", "shkeptncontext": kctx,
		"data": map[string]any{"project": "load", "stage": "dev", "service": service}})
}
