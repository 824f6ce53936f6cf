package localrt

import (
	"os"
	"runtime"
	"runtime/debug"
)

// Go runtime defaults for the one-process runtime, each applied unless the
// user set the matching environment variable.
const (
	// gcPercent lets the heap grow to 5× the live heap between collections
	// instead of 2×. Every event allocates short-lived HTTP, CloudEvents and
	// JSON garbage; with Go's default (100) collection took about 13 % of the
	// CPU under the load harness.
	gcPercent = 400
	// memoryLimit caps what that costs: past it the collector runs as often
	// as it must to stay under (a soft limit; the live heap may exceed it).
	memoryLimit = 1 << 30
)

// TuneRuntime applies the runtime's Go defaults; it changes process-wide
// settings, so only a main package calls it. GOGC, GOMEMLIMIT or GOMAXPROCS
// in the environment leave the matching Go default alone.
//
// With the embedded store (embedded true), GOMAXPROCS is one more than Go's
// default (the CPUs available): the store's fdatasync blocks its thread, and the Go scheduler
// often leaves that thread's P idle for the whole sync rather than handing
// it to another thread, so with one P per core a core sat idle for every
// sync. Under the load harness on 2 cores the process used 1.5–1.7 cores at
// 2 Ps and 1.9–1.95 at 3, for 35–45 % more runs/s; the broker's bare relay
// ran as fast at 3 Ps as at 2 (at 4 it lost 17 %). Without fdatasync
// there is nothing to make up for: against the Firestore emulator on the
// same 2 cores the load harness ran 6.7 runs/s with 14 redeliveries at 3
// Ps and 9.1 with none at 2 (one run each; the extra P competes with the
// emulator).
func TuneRuntime(embedded bool) {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(gcPercent)
		debug.SetMemoryLimit(memoryLimit)
	}
	if embedded && os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	}
}
