// Package knative holds Slipway's deployment checks: it validates the
// manifests in triggers/ and config/ with Knative's own API types, compares
// the dev broker's filters with Knative's, builds every function the way
// `func build --builder host` does, and checks Firestore's composite indexes.
// It is a separate module so that the root module never depends on
// knative.dev/* or client-go.
package knative
