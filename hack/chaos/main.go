// Command chaos runs Slipway's reliability harnesses against the local
// runtime process (hack/local). The kill -9 loop triggers sequences through
// the API with an instant executor (as hack/load does), kills the runtime
// with SIGKILL at random moments and restarts it on the same data
// directory, then checks on the stopped store that every run finished once,
// every task's .triggered was published, no lane is held and no transition
// was applied twice (docs/reliability.md). With -store firestore it runs
// two runtime processes on one Firestore emulator database
// (FIRESTORE_EMULATOR_HOST) and kills one of them at a time.
//
// The API campaigns run against the same runtime process: -mode fuzz sends
// random requests over every route the OpenAPI document lists (no 5xx, a
// Keptn error body for every refusal, no state change in a batch where
// every change was refused); -mode auth sends every route without a token,
// with a wrong one and with the token in the query string.
//
//	go run ./hack/chaos -kills 50 -runs 1200 -services 40 -tasks 3
//	go run ./hack/chaos -store firestore -kills 50 -runs 300 -services 30 -tasks 3
//	go run ./hack/chaos -mode fuzz -requests 100000
//	go run ./hack/chaos -mode auth
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

func main() {
	var o Options
	flag.StringVar(&o.Store, "store", StoreEmbedded, "kill: embedded (one process) or firestore (two processes on FIRESTORE_EMULATOR_HOST, one killed at a time)")
	flag.StringVar(&o.LogDir, "logdir", "", "kill: write the runtimes' logs here")
	flag.DurationVar(&o.Work, "work", -1, "kill: the executor's work between .started and .finished (default 0 embedded, 200ms firestore: see Options.Work)")
	flag.IntVar(&o.Runs, "runs", 300, "sequence runs")
	flag.IntVar(&o.Services, "services", 30, "services the runs spread over")
	flag.IntVar(&o.Tasks, "tasks", 3, "tasks per sequence")
	flag.IntVar(&o.Kills, "kills", 50, "SIGKILLs")
	flag.DurationVar(&o.MaxUp, "maxup", 2*time.Second, "each life lasts a random time up to this")
	flag.DurationVar(&o.Timeout, "timeout", 15*time.Minute, "give up after")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed (printed)")
	mode := flag.String("mode", "kill", "kill, fuzz or auth")
	requests := flag.Int("requests", 100000, "fuzz: requests to send")
	flag.Parse()
	o.Seed, o.Log = *seed, os.Stdout
	if o.Work < 0 {
		o.Work = 0
		if o.Store == StoreFirestore {
			o.Work = 200 * time.Millisecond
		}
	}
	root, err := os.Getwd()
	if err != nil {
		fail(err)
	}
	o.RepoRoot = root
	bin, err := Build(root)
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(filepath.Dir(bin))
	o.Binary = bin
	switch *mode {
	case "fuzz":
		start := time.Now()
		rep, err := FuzzAPI(context.Background(), bin, root, *requests, *seed)
		fmt.Printf("fuzz: %d requests in %s (seed %d), answers by status %v, %d batches state-checked, %d resets on bodies over the limit, %d plain 404s from the Swagger UI file server, %d problems\n",
			rep.Requests, time.Since(start).Round(time.Second), *seed, rep.ByStatus, rep.CheckedBatches, rep.ResetsOnLargeBody, rep.SwaggerPlain404, rep.ProblemCount)
		finish(rep.Problems, err)
		return
	case "auth":
		rep, err := AuthCampaign(context.Background(), bin, root)
		fmt.Printf("auth: %d routes, %d requests\n", rep.Routes, rep.Requests)
		finish(rep.Problems, err)
		return
	}
	fmt.Printf("kill -9 loop (%s store): %d runs × %d tasks over %d services, %d kills, seed %d\n", o.Store, o.Runs, o.Tasks, o.Services, o.Kills, o.Seed)
	rep, err := KillLoop(context.Background(), o)
	fmt.Printf("processes %d, kills %d, runs %d (finished %d, timed out %d), triggers resent %d, task .triggered seen by the executor %d (delivered again %d), lost in the broker queue %d, run wait p50 %s p95 %s max %s, %s\n",
		rep.Processes, rep.Kills, rep.Runs, rep.Finished, rep.TimedOut, rep.Resends, rep.TasksSeen, rep.Redelivered, rep.TasksLostInBroker,
		rep.RunWaitP50.Round(time.Millisecond), rep.RunWaitP95.Round(time.Millisecond), rep.RunWaitMax.Round(time.Millisecond), rep.Elapsed.Round(time.Second))
	finish(rep.Problems, err)
}

func finish(problems []string, err error) {
	if err != nil {
		fail(err)
	}
	for _, p := range problems {
		fmt.Println("PROBLEM:", p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Println("all invariants hold")
}

// Build compiles hack/local into a temporary directory.
func Build(root string) (string, error) {
	dir, err := os.MkdirTemp("", "slipway-chaos-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "slipway-local")
	cmd := exec.Command("go", "build", "-o", bin, "./hack/local")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build hack/local: %v\n%s", err, out)
	}
	return bin, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "chaos:", err)
	os.Exit(1)
}
