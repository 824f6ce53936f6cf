package store

import (
	"context"
	"time"
)

// Secret is a secret created through the secrets API (Keptn's
// secret-service). Name is unique in the store, as a Kubernetes Secret's
// name is in Keptn's namespace. Data holds the values sealed by the layer
// above (shared/secrets encrypts them before they reach a driver); drivers
// store it as opaque bytes and never see a value.
type Secret struct {
	Name  string
	Scope string
	// Project binds the secret to one project ("" = global): only that
	// project's executors may resolve it.
	Project string
	// Keys are the names of the values, sorted; shown by listings.
	Keys      []string
	Data      []byte
	UpdatedAt time.Time
}

// SecretStore persists secrets. A driver declares it in Features;
// Store.Secrets returns it with the rules checked (a name, Data at most
// MaxBody); storetest's Secrets group is its conformance suite. Times are
// kept to the microsecond, in UTC.
type SecretStore interface {
	// CreateSecret stores a new secret; ErrAlreadyExists if the name is taken.
	CreateSecret(ctx context.Context, s *Secret) error
	// UpdateSecret replaces an existing secret; ErrNotFound if there is none.
	UpdateSecret(ctx context.Context, s *Secret) error
	// GetSecret returns the secret; ErrNotFound if there is none.
	GetSecret(ctx context.Context, name string) (*Secret, error)
	// ListSecrets returns every secret ordered by name.
	ListSecrets(ctx context.Context) ([]*Secret, error)
	// DeleteSecret removes a secret; ErrNotFound if there is none.
	DeleteSecret(ctx context.Context, name string) error
}
