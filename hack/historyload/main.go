// Command historyload fills an embedded store with a large event history
// and measures what the issue asks of it: the process's memory (RSS) with
// the history stored, before and after a restart (the store reopened), and
// how long reading one context's history takes. It is a harness, not a
// test: figures go to docs/benchmarks.md. With -runtime it then starts the
// local runtime on the filled store and measures the whole process.
//
//	go run ./hack/historyload -events 1000000 -runtime
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
)

func main() {
	events := flag.Int("events", 1_000_000, "history events to store")
	perContext := flag.Int("per-context", 50, "events per keptnContext (a sequence of a few tasks over three stages)")
	projects := flag.Int("projects", 10, "projects the contexts spread over")
	writers := flag.Int("writers", 8, "concurrent writers (the history ingest is concurrent)")
	reads := flag.Int("reads", 200, "contexts whose history is read for the timing")
	dir := flag.String("dir", "", "store directory (default: a new temporary one, removed at the end); with -runtime it must be a data directory's store/")
	rt := flag.Bool("runtime", false, "then start the local runtime (hack/local) on the filled data directory and measure it through its API")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "historyload")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = filepath.Join(d, "store")
	}
	ctx := context.Background()
	st, err := embedded.Open(*dir)
	if err != nil {
		log.Fatal(err)
	}
	lazy := st.Capabilities().AppendEventLazy
	contexts := (*events + *perContext - 1) / *perContext
	body := []byte(`{"specversion":"1.0","id":"%s","source":"shipyard-controller","type":"sh.keptn.event.deployment.finished",` +
		`"shkeptncontext":"%s","triggeredid":"00000000-0000-4000-8000-000000000000","time":"2026-01-01T00:00:00Z",` +
		`"data":{"project":"p","stage":"dev","service":"svc","status":"succeeded","result":"pass",` +
		`"deployment":{"deploymentURIsLocal":["http://svc.p-dev:80"],"deploymentstrategy":"direct","gitCommit":"0123456789abcdef"},` +
		`"message":"` + strings.Repeat("m", 200) + `"}}`)
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range *writers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= *events {
					return
				}
				c := i % contexts // contexts interleave, as concurrent sequences do
				kc := fmt.Sprintf("00000000-0000-4000-8000-%012d", c)
				id := fmt.Sprintf("10000000-0000-4000-8000-%012d", i)
				e := &store.Event{ID: id, Project: "p" + strconv.Itoa(c%*projects), KeptnContext: kc,
					Type: "sh.keptn.event.deployment.finished", Stage: "dev", Service: "svc", Source: "shipyard-controller",
					Time: t0.Add(time.Duration(i) * time.Millisecond), Body: fmt.Appendf(nil, string(body), id, kc)}
				if err := lazy(ctx, e); err != nil {
					log.Fatal(err)
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	fmt.Printf("stored %d events in %d contexts in %s (%.0f events/s)\n", *events, contexts, took.Round(time.Millisecond), float64(*events)/took.Seconds())
	report("after writing", *dir)
	timeReads(ctx, st, contexts, *projects, *perContext, *reads)
	if err := st.Close(); err != nil {
		log.Fatal(err)
	}
	debug.FreeOSMemory()
	st, err = embedded.Open(*dir)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	report("after a restart (store reopened)", *dir)
	timeReads(ctx, st, contexts, *projects, *perContext, *reads)
	report("after the reads", *dir)
	if !*rt {
		return
	}
	if filepath.Base(*dir) != "store" {
		log.Fatalf("-runtime needs -dir to be <data dir>/store, as hack/local keeps it")
	}
	if err := st.Close(); err != nil { // the runtime takes the store's lock
		log.Fatal(err)
	}
	if err := measureRuntime(ctx, filepath.Dir(*dir), contexts, *projects, *perContext, *reads); err != nil {
		log.Fatal(err)
	}
}

func timeReads(ctx context.Context, st store.Store, contexts, projects, perContext, n int) {
	var ds []time.Duration
	for i := range n {
		c := (i * 7919) % contexts
		kc := fmt.Sprintf("00000000-0000-4000-8000-%012d", c)
		t := time.Now()
		evs, _, err := st.ListEvents(ctx, store.EventQuery{Project: "p" + strconv.Itoa(c%projects), KeptnContext: kc}, store.Page{})
		d := time.Since(t)
		if err != nil {
			log.Fatal(err)
		}
		if len(evs) == 0 || len(evs) > perContext {
			log.Fatalf("context %s: %d events", kc, len(evs))
		}
		ds = append(ds, d)
	}
	slices.Sort(ds)
	fmt.Printf("  a context's history (%d events): p50 %s, p99 %s, max %s over %d contexts\n", perContext,
		ds[len(ds)/2].Round(time.Microsecond), ds[len(ds)*99/100].Round(time.Microsecond), ds[len(ds)-1].Round(time.Microsecond), n)
}

func report(when, dir string) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("%s: RSS %d MB (Go heap in use %d MB), store on disk %d MB\n", when, rssMB(), ms.HeapInuse>>20, diskMB(dir))
}

func rssMB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb >> 10
		}
	}
	return -1
}

func diskMB(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n >> 20
}
