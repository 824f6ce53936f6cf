package firestore

import (
	"context"
	"fmt"
	"slices"
	"time"

	fs "cloud.google.com/go/firestore"
	"google.golang.org/api/iterator"

	"github.com/slipwayhq/slipway/shared/store"
)

// Secrets (store.SecretStore) live in <prefix>secrets, document id
// docID(name). Values arrive sealed (AES-GCM by shared/secrets, with a key
// Firestore never sees), so the documents hold ciphertext only; listing
// orders by document id, which needs no index.

var _ store.SecretStore = (*Driver)(nil)

type secretDoc struct {
	Name      string    `firestore:"name"`
	Scope     string    `firestore:"scope"`
	Project   string    `firestore:"project"`
	Keys      []string  `firestore:"keys"`
	Data      []byte    `firestore:"data"`
	UpdatedAt time.Time `firestore:"updatedAt"`
}

func (s *Driver) secrets() *fs.CollectionRef { return s.collection("secrets") }

func toSecretDoc(sec *store.Secret) *secretDoc {
	keys := slices.Clone(sec.Keys)
	slices.Sort(keys)
	return &secretDoc{Name: sec.Name, Scope: sec.Scope, Project: sec.Project, Keys: keys, Data: sec.Data,
		UpdatedAt: utc(trunc(sec.UpdatedAt))}
}

func decodeSecret(snap *fs.DocumentSnapshot) (*store.Secret, error) {
	var d secretDoc
	if err := snap.DataTo(&d); err != nil {
		return nil, fmt.Errorf("decode secret %s: %w", snap.Ref.ID, err)
	}
	return &store.Secret{Name: d.Name, Scope: d.Scope, Project: d.Project, Keys: d.Keys, Data: d.Data,
		UpdatedAt: utc(d.UpdatedAt)}, nil
}

// CreateSecret implements store.SecretStore.
func (s *Driver) CreateSecret(ctx context.Context, sec *store.Secret) error {
	s.writes.Add(1)
	_, err := s.secrets().Doc(docID(sec.Name)).Create(ctx, toSecretDoc(sec))
	if err != nil {
		return mapErr("create secret "+sec.Name, err)
	}
	return nil
}

// UpdateSecret implements store.SecretStore.
func (s *Driver) UpdateSecret(ctx context.Context, sec *store.Secret) error {
	what := "update secret " + sec.Name
	ref := s.secrets().Doc(docID(sec.Name))
	return s.runTx(ctx, what, func(ctx context.Context, ft *fs.Transaction) error {
		s.reads.Add(1)
		if _, err := ft.Get(ref); err != nil {
			return mapErr(what, err)
		}
		s.writes.Add(1)
		return ft.Set(ref, toSecretDoc(sec))
	})
}

// GetSecret implements store.SecretStore.
func (s *Driver) GetSecret(ctx context.Context, name string) (*store.Secret, error) {
	s.reads.Add(1)
	snap, err := s.secrets().Doc(docID(name)).Get(ctx)
	if err != nil {
		return nil, mapErr("get secret "+name, err)
	}
	return decodeSecret(snap)
}

// ListSecrets implements store.SecretStore. Secrets are few (one per
// credential an integration needs), so they are read whole.
func (s *Driver) ListSecrets(ctx context.Context) ([]*store.Secret, error) {
	it := s.secrets().OrderBy(fs.DocumentID, fs.Asc).Documents(ctx)
	defer it.Stop()
	var out []*store.Secret
	for {
		snap, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			return nil, mapErr("list secrets", err)
		}
		sec, err := decodeSecret(snap)
		if err != nil {
			return nil, err
		}
		out = append(out, sec)
	}
	s.countQuery(len(out))
	// docID escapes a few characters, which can reorder names; sort by name.
	slices.SortFunc(out, func(a, b *store.Secret) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out, nil
}

// DeleteSecret implements store.SecretStore.
func (s *Driver) DeleteSecret(ctx context.Context, name string) error {
	s.writes.Add(1)
	if _, err := s.secrets().Doc(docID(name)).Delete(ctx, fs.Exists); err != nil {
		return mapErr("delete secret "+name, err)
	}
	return nil
}
