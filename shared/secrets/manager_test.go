package secrets_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/slipwayhq/slipway/shared/secrets"
	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
)

func newManager(t *testing.T) (*secrets.Manager, store.SecretStore) {
	t.Helper()
	st, err := embedded.OpenOptions(filepath.Join(t.TempDir(), "store"), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	key, err := secrets.LoadKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := secrets.NewManager(st.Secrets(), key)
	if err != nil {
		t.Fatal(err)
	}
	return m, st.Secrets()
}

// TestResolveVisibility: a global secret is resolved for every project, a
// project's secret only for that project, and only in the secret's scope.
func TestResolveVisibility(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	for _, s := range []secrets.Secret{
		{Name: "global", Scope: secrets.ScopeWebhook, Data: map[string]string{"token": "g-value"}},
		{Name: "only-a", Scope: secrets.ScopeWebhook, Project: "a", Data: map[string]string{"token": "a-value"}},
		{Name: "default", Data: map[string]string{"token": "d-value"}},
	} {
		if err := m.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	cases := map[string]struct {
		project, scope, name, key string
		want                      string // "" = not found
	}{
		"global for a":              {"a", secrets.ScopeWebhook, "global", "token", "g-value"},
		"global for b":              {"b", secrets.ScopeWebhook, "global", "token", "g-value"},
		"own project":               {"a", secrets.ScopeWebhook, "only-a", "token", "a-value"},
		"other project":             {"b", secrets.ScopeWebhook, "only-a", "token", ""},
		"no project":                {"", secrets.ScopeWebhook, "only-a", "token", ""},
		"wrong scope":               {"a", secrets.ScopeDefault, "global", "token", ""},
		"default scope when absent": {"a", secrets.ScopeDefault, "default", "token", "d-value"},
		"missing key":               {"a", secrets.ScopeWebhook, "global", "nope", ""},
		"missing secret":            {"a", secrets.ScopeWebhook, "nope", "token", ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			v, err := m.Resolve(ctx, c.project, c.scope, c.name, c.key)
			if c.want == "" {
				if !errors.Is(err, secrets.ErrNotFound) {
					t.Fatalf("got %q, %v; want not found", v, err)
				}
				return
			}
			if err != nil || v != c.want {
				t.Fatalf("got %q, %v; want %q", v, err, c.want)
			}
		})
	}
}

// TestSealedAtRest: the store holds no value in clear, reads show key names
// only, and a sealed record moved to another project does not open.
func TestSealedAtRest(t *testing.T) {
	m, st := newManager(t)
	ctx := context.Background()
	const value = "very-secret-value-123"
	if err := m.Create(ctx, secrets.Secret{Name: "s", Scope: secrets.ScopeWebhook, Project: "a",
		Data: map[string]string{"token": value}}); err != nil {
		t.Fatal(err)
	}
	rec, err := st.GetSecret(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(rec.Data, []byte(value)) || bytes.Contains(rec.Data, []byte(base64.StdEncoding.EncodeToString([]byte(value)))) {
		t.Fatal("value stored in clear")
	}
	list, err := m.List(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "s" || list[0].Keys[0] != "token" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	// Move the sealed record to project b in the store.
	moved := *rec
	moved.Project = "b"
	if err := st.UpdateSecret(ctx, &moved); err != nil {
		t.Fatal(err)
	}
	if v, err := m.Resolve(ctx, "b", secrets.ScopeWebhook, "s", "token"); err == nil {
		t.Fatalf("moved record opened: %q", v)
	}
}

func TestCreateUpdateDelete(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	s := secrets.Secret{Name: "s", Data: map[string]string{"k": "1"}}
	if err := m.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := m.Create(ctx, s); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("create twice: %v", err)
	}
	if err := m.Update(ctx, secrets.Secret{Name: "t", Data: map[string]string{"k": "1"}}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	if err := m.Update(ctx, secrets.Secret{Name: "s", Data: map[string]string{"k": "2"}}); err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Resolve(ctx, "", secrets.ScopeDefault, "s", "k"); v != "2" {
		t.Fatalf("after update %q", v)
	}
	if err := m.Delete(ctx, "s", secrets.ScopeWebhook); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete in another scope: %v", err)
	}
	if err := m.Delete(ctx, "s", secrets.ScopeDefault); err != nil {
		t.Fatal(err)
	}
	invalid := map[string]secrets.Secret{
		"bad name":  {Name: "Bad_Name", Data: map[string]string{"k": "v"}},
		"bad scope": {Name: "s", Scope: "Bad Scope", Data: map[string]string{"k": "v"}},
		"bad key":   {Name: "s", Data: map[string]string{"a/b": "v"}},
		"no data":   {Name: "s"},
		"too large": {Name: "s", Data: map[string]string{"k": string(make([]byte, secrets.MaxDataBytes+1))}},
	}
	for name, s := range invalid {
		if err := m.Create(ctx, s); !errors.Is(err, secrets.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDeleteProjectDropsItsSecrets(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	for _, s := range []secrets.Secret{
		{Name: "a1", Project: "a", Data: map[string]string{"k": "v"}},
		{Name: "b1", Project: "b", Data: map[string]string{"k": "v"}},
		{Name: "g", Data: map[string]string{"k": "v"}},
	} {
		if err := m.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.DeleteProject(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	list, _ := m.List(ctx)
	if len(list) != 2 || list[0].Name != "b1" || list[1].Name != "g" {
		t.Fatalf("left %+v", list)
	}
}

func TestReaderFallsBackToDirectory(t *testing.T) {
	m, _ := newManager(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "mounted"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mounted", "token"), []byte("from-dir"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := m.Create(context.Background(), secrets.Secret{Name: "api", Scope: secrets.ScopeWebhook, Data: map[string]string{"token": "from-api"}}); err != nil {
		t.Fatal(err)
	}
	r := secrets.Reader{Manager: m, Scope: secrets.ScopeWebhook, Dir: secrets.Dir(dir)}
	for name, want := range map[string]string{"api": "from-api", "mounted": "from-dir"} {
		if v, err := r.GetFor(context.Background(), "p", name, "token"); err != nil || v != want {
			t.Fatalf("%s: %q, %v", name, v, err)
		}
	}
	if _, err := r.Get("none", "token"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := secrets.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, secrets.KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", st.Mode().Perm(), err)
	}
	k2, err := secrets.LoadKey(dir)
	if err != nil || !bytes.Equal(k1, k2) || len(k1) != secrets.KeySize {
		t.Fatalf("reload: %v", err)
	}
	if err := os.Chmod(filepath.Join(dir, secrets.KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.LoadKey(dir); err == nil {
		t.Fatal("a world-readable key file was accepted")
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	f.Add(base64.RawURLEncoding.EncodeToString(make([]byte, 32)))
	f.Add("not base64!")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := secrets.ParseKey(s)
		if err == nil && len(k) != secrets.KeySize {
			t.Fatalf("accepted a %d-byte key", len(k))
		}
	})
}
