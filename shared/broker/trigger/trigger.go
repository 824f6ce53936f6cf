// Package trigger reads Knative eventing.knative.dev/v1 Trigger manifests
// into the minimal structs the dev broker routes by, without importing
// knative.dev/*. It validates what Knative's webhook validates for the fields
// it knows (and refuses unknown spec fields), applies Knative's delivery
// defaults, computes retry backoff like knative.dev/eventing's kncloudevents,
// and resolves subscriber refs through a name→URL map.
package trigger

import (
	"math"
	"time"

	"github.com/slipwayhq/slipway/shared/broker/filter"
)

// APIVersion and Kind of the manifests this package reads.
const (
	APIVersion = "eventing.knative.dev/v1"
	Kind       = "Trigger"
)

// Trigger is the routing-relevant part of a Knative Trigger.
type Trigger struct {
	Name      string
	Namespace string // informational; the dev broker has one namespace
	Broker    string // spec.broker (or spec.brokerRef.name)
	Filter    filter.Spec
	// Subscriber is spec.subscriber.
	Subscriber Destination
	// Delivery is spec.delivery; nil means the broker's default delivery.
	Delivery *Delivery
	// Source names where the trigger was read from (file path), for errors.
	Source string
}

// Destination is a Knative duck Destination: a ref to an addressable, a URI,
// or both (then the URI is resolved relative to the ref's URL).
type Destination struct {
	Ref *Ref
	URI string
}

// Ref is a Knative KReference.
type Ref struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Name       string `yaml:"name"`
	Namespace  string `yaml:"namespace"`
}

// BackoffPolicy is delivery.backoffPolicy.
type BackoffPolicy string

// Backoff policies.
const (
	BackoffLinear      BackoffPolicy = "linear"
	BackoffExponential BackoffPolicy = "exponential"
)

// Format is delivery.format: how events are sent to the subscriber.
type Format string

// Formats. The broker sends binary mode unless json is asked for.
const (
	FormatBinary Format = "binary"
	FormatJSON   Format = "json"
)

// Delivery is a parsed Knative DeliverySpec.
type Delivery struct {
	// Retry is the number of retries after the first attempt (total attempts
	// = Retry+1).
	Retry int32
	// BackoffPolicy and BackoffDelay set the wait between retries. As in
	// Knative, both must be set for any wait; otherwise retries are immediate.
	BackoffPolicy BackoffPolicy
	BackoffDelay  time.Duration
	// Timeout bounds each attempt; 0 means no trigger timeout.
	Timeout time.Duration
	// DeadLetterSink receives events whose delivery failed for good.
	DeadLetterSink *Destination
	// Format is "" (binary), binary or json.
	Format Format
}

// DefaultDelivery is the delivery Knative's stock config-br-defaults gives a
// Broker's Triggers that set none: retry 10, exponential, PT0.2S.
func DefaultDelivery() Delivery {
	return Delivery{Retry: 10, BackoffPolicy: BackoffExponential, BackoffDelay: 200 * time.Millisecond}
}

// Backoff is Knative's backoff function (kncloudevents.RetryConfigFromDeliverySpec):
// exponential waits delay·2^attemptNum, linear waits delay·attemptNum, and
// anything else (no policy or no delay) waits nothing. Knative's retrying HTTP
// client calls it with attemptNum 0 before the first retry, 1 before the
// second, and so on. Results are capped at math.MaxInt64 instead of
// overflowing.
func Backoff(policy BackoffPolicy, delay time.Duration, attemptNum int) time.Duration {
	if delay <= 0 || attemptNum < 0 {
		return 0
	}
	var factor float64
	switch policy {
	case BackoffExponential:
		factor = math.Exp2(float64(attemptNum))
	case BackoffLinear:
		factor = float64(attemptNum)
	default:
		return 0
	}
	d := float64(delay) * factor
	if d >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(d)
}

// RetryDelay is the wait before retry number n (1-based), i.e.
// Backoff(policy, delay, n-1): exponential PT0.2S gives 0.2s, 0.4s, 0.8s…;
// linear PT0.2S gives 0s, 0.2s, 0.4s….
func (d Delivery) RetryDelay(n int) time.Duration {
	return Backoff(d.BackoffPolicy, d.BackoffDelay, n-1)
}
