package api

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"

	"github.com/slipwayhq/slipway/shared/secrets"
	"github.com/slipwayhq/slipway/shared/store"
)

// Keptn's secret-service API (/api/secrets/v1), used by `keptn create
// secret`, `keptn get secrets` and go-utils' SecretHandler. Values go in and
// never come out: the list shows name, scope, project and key names, and
// create and update answer the same without data (Keptn echoed the data).
// An optional "project" member binds a secret to one project (see
// shared/secrets for who may resolve what).

const secretPath = "/api/secrets/v1/secret"

// SecretManager keeps the secrets (secrets.Manager implements it).
type SecretManager interface {
	Create(ctx context.Context, s secrets.Secret) error
	Update(ctx context.Context, s secrets.Secret) error
	Delete(ctx context.Context, name, scope string) error
	List(ctx context.Context) ([]secrets.Meta, error)
	Scopes(ctx context.Context) ([]string, error)
	DeleteProject(ctx context.Context, project string) error
}

const msgSecretsNoSupport = "secrets are not configured on this installation (no secrets key or store support)"

func (a *api) secretManager() (SecretManager, error) {
	if a.deps.Secrets == nil {
		return nil, errorf(http.StatusNotImplemented, "%s", msgSecretsNoSupport)
	}
	return a.deps.Secrets, nil
}

// secretError maps the manager's errors onto Keptn's answers.
func secretError(err error, name string) error {
	switch {
	case errors.Is(err, secrets.ErrInvalid):
		return badRequest("%v", err)
	case errors.Is(err, store.ErrAlreadyExists):
		return errorf(http.StatusConflict, "secret %s already exists", name)
	case errors.Is(err, store.ErrNotFound):
		return notFound("secret %s not found", name)
	}
	return err
}

func (a *api) writeSecret(w http.ResponseWriter, r *http.Request, create bool) error {
	m, err := a.secretManager()
	if err != nil {
		return err
	}
	var s secrets.Secret
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &s, true); err != nil {
		return err
	}
	if s.Name == "" {
		return badRequest("name must be set")
	}
	status := http.StatusOK
	if create {
		status = http.StatusCreated
		err = m.Create(r.Context(), s)
	} else {
		err = m.Update(r.Context(), s)
	}
	if err != nil {
		return secretError(err, s.Name)
	}
	if s.Scope == "" {
		s.Scope = secrets.ScopeDefault
	}
	keys := slices.Sorted(maps.Keys(s.Data))
	writeJSON(w, status, secrets.Meta{Name: s.Name, Scope: s.Scope, Project: s.Project, Keys: keys})
	return nil
}

// POST /api/secrets/v1/secret
func (a *api) createSecret(w http.ResponseWriter, r *http.Request) error {
	return a.writeSecret(w, r, true)
}

// PUT /api/secrets/v1/secret
func (a *api) updateSecret(w http.ResponseWriter, r *http.Request) error {
	return a.writeSecret(w, r, false)
}

// GET /api/secrets/v1/secret
func (a *api) listSecrets(w http.ResponseWriter, r *http.Request) error {
	m, err := a.secretManager()
	if err != nil {
		return err
	}
	list, err := m.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"secrets": list})
	return nil
}

// DELETE /api/secrets/v1/secret?name=&scope=
func (a *api) deleteSecret(w http.ResponseWriter, r *http.Request) error {
	m, err := a.secretManager()
	if err != nil {
		return err
	}
	name, scope := r.URL.Query().Get("name"), r.URL.Query().Get("scope")
	if name == "" || scope == "" {
		return badRequest("query parameters name and scope are required")
	}
	if err := m.Delete(r.Context(), name, scope); err != nil {
		return secretError(err, name)
	}
	writeJSON(w, http.StatusOK, map[string]any{})
	return nil
}

// GET /api/secrets/v1/scope
func (a *api) listScopes(w http.ResponseWriter, r *http.Request) error {
	m, err := a.secretManager()
	if err != nil {
		return err
	}
	scopes, err := m.Scopes(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"scopes": scopes})
	return nil
}
