package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
)

// Secrets created through the API (Keptn's secret-service: `keptn create
// secret`) are kept in the store with their values sealed: AES-256-GCM with a
// key the store never sees (the embedded store's data directory keeps it in
// a 0600 file, a cluster passes it from a Kubernetes Secret), the secret's
// name, scope and project as additional data so a sealed value cannot be
// moved to another secret or project. Reads never return a value: listings
// show name, scope, project and key names; only executors resolve values,
// in their own process.
//
// Visibility: a secret without a project is global; a secret with a project
// is resolved only for that project's executors, so one project's webhook or
// task cannot name another project's secret. Scopes work as Keptn's did with
// Kubernetes RBAC: the webhook executor reads scope keptn-webhook-service,
// the task runner keptn-default (what `keptn create secret` gives without
// --scope).

// Keptn's scopes; any other scope name of the same form is accepted too
// (Keptn's helm chart let operators add scopes).
const (
	ScopeDefault = "keptn-default"
	ScopeWebhook = "keptn-webhook-service"
)

// DefaultScopes are the scopes a Keptn 1.x installation defines.
var DefaultScopes = []string{"dynatrace-service", ScopeDefault, "keptn-prometheus-service", ScopeWebhook}

// ErrInvalid is returned (wrapped) for a secret the API must refuse.
var ErrInvalid = errors.New("invalid secret")

// Limits on a secret (Kubernetes caps a Secret at 1 MiB).
const (
	MaxKeys      = 64
	MaxDataBytes = 512 << 10
)

var scopeRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// Secret is a secret with its values.
type Secret struct {
	Name    string            `json:"name"`
	Scope   string            `json:"scope"`
	Project string            `json:"project,omitempty"`
	Data    map[string]string `json:"data"`
}

// Meta is what reads show of a secret.
type Meta struct {
	Name    string   `json:"name"`
	Scope   string   `json:"scope"`
	Project string   `json:"project,omitempty"`
	Keys    []string `json:"keys"`
}

// Manager creates, lists and resolves sealed secrets in a store.
type Manager struct {
	st   store.SecretStore
	aead cipher.AEAD
	now  func() time.Time
}

// NewManager returns a manager sealing with key (KeySize bytes).
func NewManager(st store.SecretStore, key []byte) (*Manager, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secrets key: %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	return &Manager{st: st, aead: aead, now: time.Now}, nil
}

// ValidScope reports whether scope is a valid scope name.
func ValidScope(scope string) bool { return scopeRE.MatchString(scope) }

func (s *Secret) validate() error {
	if !ValidName(s.Name) {
		return fmt.Errorf("%w: name %q must be a lowercase DNS name (a-z, 0-9, '-', '.')", ErrInvalid, s.Name)
	}
	if !ValidScope(s.Scope) {
		return fmt.Errorf("%w: scope %q must be a lowercase DNS label", ErrInvalid, s.Scope)
	}
	if s.Project != "" && !ValidName(s.Project) {
		return fmt.Errorf("%w: project %q is not a project name", ErrInvalid, s.Project)
	}
	if len(s.Data) == 0 {
		return fmt.Errorf("%w: data must hold at least one key", ErrInvalid)
	}
	if len(s.Data) > MaxKeys {
		return fmt.Errorf("%w: more than %d keys", ErrInvalid, MaxKeys)
	}
	n := 0
	for k, v := range s.Data {
		if !ValidKey(k) {
			return fmt.Errorf("%w: key %q must match [-._a-zA-Z0-9]+", ErrInvalid, k)
		}
		n += len(k) + len(v)
	}
	if n > MaxDataBytes {
		return fmt.Errorf("%w: data larger than %d bytes", ErrInvalid, MaxDataBytes)
	}
	return nil
}

func aad(name, scope, project string) []byte {
	return []byte("slipway-secret\x00" + name + "\x00" + scope + "\x00" + project)
}

const sealV1 = 1

func (m *Manager) seal(s *Secret) (*store.Secret, error) {
	plain, err := json.Marshal(s.Data)
	if err != nil {
		return nil, fmt.Errorf("seal secret %s: %w", s.Name, err)
	}
	nonce := make([]byte, m.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal secret %s: %w", s.Name, err)
	}
	out := append([]byte{sealV1}, nonce...)
	out = m.aead.Seal(out, nonce, plain, aad(s.Name, s.Scope, s.Project))
	keys := make([]string, 0, len(s.Data))
	for k := range s.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return &store.Secret{Name: s.Name, Scope: s.Scope, Project: s.Project, Keys: keys, Data: out, UpdatedAt: m.now()}, nil
}

func (m *Manager) open(rec *store.Secret) (map[string]string, error) {
	ns := m.aead.NonceSize()
	if len(rec.Data) < 1+ns || rec.Data[0] != sealV1 {
		return nil, fmt.Errorf("open secret %s: unknown format", rec.Name)
	}
	plain, err := m.aead.Open(nil, rec.Data[1:1+ns], rec.Data[1+ns:], aad(rec.Name, rec.Scope, rec.Project))
	if err != nil {
		return nil, fmt.Errorf("open secret %s: wrong key or tampered record", rec.Name)
	}
	var data map[string]string
	if err := json.Unmarshal(plain, &data); err != nil {
		return nil, fmt.Errorf("open secret %s: %w", rec.Name, err)
	}
	return data, nil
}

// Create stores a new secret (store.ErrAlreadyExists if the name is taken).
// An empty scope is ScopeDefault, as in Keptn.
func (m *Manager) Create(ctx context.Context, s Secret) error {
	if s.Scope == "" {
		s.Scope = ScopeDefault
	}
	if err := s.validate(); err != nil {
		return err
	}
	rec, err := m.seal(&s)
	if err != nil {
		return err
	}
	return m.st.CreateSecret(ctx, rec)
}

// Update replaces an existing secret's values, scope and project
// (store.ErrNotFound if there is none).
func (m *Manager) Update(ctx context.Context, s Secret) error {
	if s.Scope == "" {
		s.Scope = ScopeDefault
	}
	if err := s.validate(); err != nil {
		return err
	}
	rec, err := m.seal(&s)
	if err != nil {
		return err
	}
	return m.st.UpdateSecret(ctx, rec)
}

// Delete removes the secret named name in scope (store.ErrNotFound if there
// is none in that scope).
func (m *Manager) Delete(ctx context.Context, name, scope string) error {
	rec, err := m.st.GetSecret(ctx, name)
	if err != nil {
		return err
	}
	if rec.Scope != scope {
		return fmt.Errorf("secret %s in scope %s: %w", name, scope, store.ErrNotFound)
	}
	return m.st.DeleteSecret(ctx, name)
}

// List returns every secret's metadata, by name.
func (m *Manager) List(ctx context.Context) ([]Meta, error) {
	recs, err := m.st.ListSecrets(ctx)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	out := make([]Meta, 0, len(recs))
	for _, r := range recs {
		keys := r.Keys
		if keys == nil {
			keys = []string{}
		}
		out = append(out, Meta{Name: r.Name, Scope: r.Scope, Project: r.Project, Keys: keys})
	}
	return out, nil
}

// Scopes returns DefaultScopes plus the scopes of stored secrets, sorted.
func (m *Manager) Scopes(ctx context.Context) ([]string, error) {
	metas, err := m.List(ctx)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(DefaultScopes)
	for _, s := range metas {
		if !slices.Contains(out, s.Scope) {
			out = append(out, s.Scope)
		}
	}
	sort.Strings(out)
	return out, nil
}

// DeleteProject removes the secrets bound to project (a project created
// later under the same name must not inherit them).
func (m *Manager) DeleteProject(ctx context.Context, project string) error {
	recs, err := m.st.ListSecrets(ctx)
	if err != nil {
		return fmt.Errorf("list secrets: %w", err)
	}
	for _, r := range recs {
		if r.Project == project {
			if err := m.st.DeleteSecret(ctx, r.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("delete secret %s: %w", r.Name, err)
			}
		}
	}
	return nil
}

// Resolve returns the value of key in secret name for an executor of
// project reading scope. A secret of another project or scope is reported
// as not found, without saying that it exists.
func (m *Manager) Resolve(ctx context.Context, project, scope, name, key string) (string, error) {
	if !ValidName(name) || !ValidKey(key) {
		return "", fmt.Errorf("secret %q key %q: %w", name, key, ErrInvalidName)
	}
	rec, err := m.st.GetSecret(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("secret %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("secret %q: %w", name, err)
	}
	if rec.Scope != scope || (rec.Project != "" && rec.Project != project) {
		return "", fmt.Errorf("secret %q in scope %s for project %q: %w", name, scope, project, ErrNotFound)
	}
	data, err := m.open(rec)
	if err != nil {
		return "", err
	}
	v, ok := data[key]
	if !ok {
		return "", fmt.Errorf("secret %q key %q: %w", name, key, ErrNotFound)
	}
	return v, nil
}

// Reader resolves executors' secret references: secrets created through the
// API (Manager, nil = none) in Scope and visible to the project, then the
// mounted directory (operator-provisioned, global). It implements the
// executors' Get(name, key) (global secrets only) and GetFor.
type Reader struct {
	Manager *Manager
	Scope   string
	Dir     Dir
}

// GetFor returns key of secret name for an executor of project.
func (r Reader) GetFor(ctx context.Context, project, name, key string) (string, error) {
	if r.Manager != nil {
		v, err := r.Manager.Resolve(ctx, project, r.Scope, name, key)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return v, err
		}
		if r.Dir == "" {
			return "", err
		}
	}
	return r.Dir.Get(name, key)
}

// Get returns key of a global secret name.
func (r Reader) Get(name, key string) (string, error) {
	return r.GetFor(context.Background(), "", name, key)
}

// OpenManager returns a manager over st's secrets, or nil when st keeps no
// secrets (its driver has none) or no key is available. The key is
// keyB64 (base64, e.g. SLIPWAY_SECRETS_KEY from a Kubernetes Secret) when
// set, else the key file in dir (created on first use; dir "" = none).
func OpenManager(st store.Store, keyB64, dir string) (*Manager, error) {
	if st == nil {
		return nil, nil
	}
	ss := st.Secrets()
	if ss == nil {
		return nil, nil
	}
	var key []byte
	var err error
	switch {
	case keyB64 != "":
		key, err = ParseKey(keyB64)
	case dir != "":
		key, err = LoadKey(dir)
	default:
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return NewManager(ss, key)
}
