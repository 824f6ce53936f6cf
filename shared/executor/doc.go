// Package executor holds what Slipway's task executors share: the Sender
// that replies to the broker, the Responder that builds .started/.finished
// events the Keptn way, the Registry of running work (abort and duplicate
// delivery), the Resources interface to Keptn's resource service with its
// service → stage → project lookup, and the mapping of handler errors to
// CloudEvents delivery results.
//
// Sub-packages: generic (generic-executor-service compatible scripts and
// .http files), httpfile (the .http format), webhook (webhook.yaml),
// remediation (remediation.yaml / get-action).
//
// Asynchronous execution. A Knative request may last at most 30 s, while a
// script may run for minutes. Executors therefore do the lookup and send
// .started while handling the request, then return (ack) and run the work in
// the background; the .finished event is the result. A handler returns an
// error (so the broker redelivers) only when nothing was sent yet. Work in
// flight is lost if the instance is torn down; the control plane's
// finished-timeout covers that case.
package executor
