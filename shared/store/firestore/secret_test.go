package firestore_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/slipwayhq/slipway/shared/secrets"
	"github.com/slipwayhq/slipway/shared/store/firestore"
	"github.com/slipwayhq/slipway/shared/store/firestore/fstest"
)

// TestSecretsSealedInFirestore: a secret created through secrets.Manager on
// the Firestore driver is stored as ciphertext (the document holds no
// value) and resolves back for its project only.
func TestSecretsSealedInFirestore(t *testing.T) {
	client := fstest.Client(t, integrationProjectID+"-sealed")
	prefix := fmt.Sprintf("k%d_", prefixes.Add(1))
	st := firestore.New(t.Context(), client, firestore.Options{Prefix: prefix})
	key, err := secrets.ParseKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	if err != nil {
		t.Fatal(err)
	}
	m, err := secrets.NewManager(st.Secrets(), key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const value = "firestore-secret-value-42"
	if err := m.Create(ctx, secrets.Secret{Name: "hook", Scope: secrets.ScopeWebhook, Project: "p",
		Data: map[string]string{"token": value}}); err != nil {
		t.Fatal(err)
	}
	snap, err := client.Collection(prefix + "secrets").Doc("hook").Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := snap.Data()["data"].([]byte)
	if len(data) == 0 || bytes.Contains(data, []byte(value)) {
		t.Fatalf("stored data %q", data)
	}
	if v, err := m.Resolve(ctx, "p", secrets.ScopeWebhook, "hook", "token"); err != nil || v != value {
		t.Fatalf("resolve for p: %q, %v", v, err)
	}
	if _, err := m.Resolve(ctx, "q", secrets.ScopeWebhook, "hook", "token"); err == nil {
		t.Fatal("another project resolved the secret")
	}
}
