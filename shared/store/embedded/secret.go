package embedded

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
)

// Secrets (store.SecretStore) live in one bucket keyed by name. Data is
// sealed by shared/secrets before it gets here.
var bSecrets = []byte("secrets") // name -> secret

var _ store.SecretStore = (*Driver)(nil)

func encodeSecret(s *store.Secret) []byte {
	b := make([]byte, 0, 64+len(s.Data))
	b = append(b, formatV1)
	b = appendLP(b, s.Name)
	b = appendLP(b, s.Scope)
	b = appendLP(b, s.Project)
	b = appendStrs(b, s.Keys)
	b = appendTKey(b, s.UpdatedAt)
	return append(b, s.Data...)
}

func decodeSecret(v []byte) (*store.Secret, error) {
	d := newDecoder(v)
	s := &store.Secret{}
	s.Name, s.Scope, s.Project = d.str(), d.str(), d.str()
	s.Keys = d.strs()
	s.UpdatedAt = d.time()
	s.Data = slices.Clone(d.rest())
	if d.err != nil {
		return nil, d.err
	}
	return s, nil
}

func normSecret(s *store.Secret) *store.Secret {
	c := *s
	c.UpdatedAt = s.UpdatedAt.Truncate(time.Microsecond).UTC()
	c.Keys = slices.Clone(s.Keys)
	slices.Sort(c.Keys)
	c.Data = slices.Clone(s.Data)
	return &c
}

func (t *txn) secret(name string) (*store.Secret, error) {
	b := t.b(bSecrets)
	if b == nil {
		return nil, fmt.Errorf("secret %s: %w", name, store.ErrNotFound)
	}
	v := b.Get([]byte(name))
	if v == nil {
		return nil, fmt.Errorf("secret %s: %w", name, store.ErrNotFound)
	}
	t.s.reads.Add(1)
	return decodeSecret(v)
}

func (t *txn) putSecret(s *store.Secret) error {
	b, err := t.bucket(bSecrets)
	if err != nil {
		return err
	}
	if err := b.Put([]byte(s.Name), encodeSecret(normSecret(s))); err != nil {
		return err
	}
	t.s.writes.Add(1)
	return nil
}

// CreateSecret implements store.SecretStore.
func (s *Driver) CreateSecret(ctx context.Context, sec *store.Secret) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(t *txn) error {
		if _, err := t.secret(sec.Name); err == nil {
			return fmt.Errorf("secret %s: %w", sec.Name, store.ErrAlreadyExists)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return t.putSecret(sec)
	})
}

// UpdateSecret implements store.SecretStore.
func (s *Driver) UpdateSecret(ctx context.Context, sec *store.Secret) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(t *txn) error {
		if _, err := t.secret(sec.Name); err != nil {
			return err
		}
		return t.putSecret(sec)
	})
}

// GetSecret implements store.SecretStore.
func (s *Driver) GetSecret(ctx context.Context, name string) (sec *store.Secret, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	err = s.view(func(t *txn) error {
		sec, err = t.secret(name)
		return err
	})
	return sec, err
}

// ListSecrets implements store.SecretStore.
func (s *Driver) ListSecrets(ctx context.Context) ([]*store.Secret, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*store.Secret
	err := s.view(func(t *txn) error {
		b := t.b(bSecrets)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			sec, err := decodeSecret(v)
			if err != nil {
				return err
			}
			out = append(out, sec)
			return nil
		})
	})
	return out, err
}

// DeleteSecret implements store.SecretStore.
func (s *Driver) DeleteSecret(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(t *txn) error {
		if _, err := t.secret(name); err != nil {
			return err
		}
		if err := t.b(bSecrets).Delete([]byte(name)); err != nil {
			return err
		}
		t.s.writes.Add(1)
		return nil
	})
}
