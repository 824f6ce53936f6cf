// Package keptnclient holds tests that drive a local Slipway runtime with
// Keptn's own Go client library (github.com/keptn/go-utils), unchanged.
package keptnclient
