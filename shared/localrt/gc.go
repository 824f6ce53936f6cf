package localrt

import (
	"os"
	"runtime/debug"
)

// Garbage-collector defaults for the one-process runtime, used unless the
// user set GOGC or GOMEMLIMIT.
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

// TuneGC applies the runtime's garbage-collector defaults; it changes
// process-wide settings, so only a main package calls it. GOGC or
// GOMEMLIMIT in the environment leave the Go defaults alone, so a user who
// tunes either gets exactly what they asked for.
func TuneGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(gcPercent)
	debug.SetMemoryLimit(memoryLimit)
}
