// Package ceio reads and writes CloudEvents over HTTP for Slipway's own
// handlers and clients (the broker's ingress and deliveries, the functions'
// handler, the publisher, the history), with sdk-go doing the CloudEvents
// part: NewMessage + binding.ToEvent to read a request in binary or
// structured mode, binding.ToMessage + WriteRequest to write one in binary
// mode. What ceio adds is the part sdk-go's receiver and client do not do
// the way Slipway needs: a size limit on the body (*http.MaxBytesError past
// it), validation on both sides as sdk-go's client does on send, sdk-go's
// panics on malformed headers turned into errors, and no receiver goroutine
// hand-over (see localrt.CEHandler for why sdk-go's receiver is not used).
//
// Until 2026-12-04 binary mode was read and written here by hand (about 3×
// less CPU per event than sdk-go in isolation); the load harness showed no
// difference beyond its noise, so sdk-go does it now (docs/benchmarks.md,
// "Giving back to libraries").
//
// Header values are sent and read verbatim, not percent-encoded as HTTP
// binding 3.1.3.2 asks: sdk-go does neither (cloudevents/sdk-go#1331), on
// every hop alike.
package ceio
