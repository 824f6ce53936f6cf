// Package keptn is Keptn v1's CloudEvents contract: the event type grammar,
// the Keptn extension attributes, the common data block and the status and
// result enums, on top of github.com/cloudevents/sdk-go/v2 events.
package keptn
