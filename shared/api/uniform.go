package api

import (
	"context"
	"crypto/sha1" //nolint:gosec // Keptn's integration id is a SHA-1 digest; it is an identifier, not a signature
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/store"
)

// IntegrationStore is the persistence the uniform and log endpoints need.
// New takes it from Deps.Store.Integrations().
type IntegrationStore interface {
	RegisterIntegration(ctx context.Context, name, namespace string, fn func(cur *store.Integration) (*store.Integration, error)) (*store.Integration, error)
	UpdateIntegration(ctx context.Context, id string, fn func(in *store.Integration) error) (*store.Integration, error)
	GetIntegration(ctx context.Context, id string) (*store.Integration, error)
	ListIntegrations(ctx context.Context, q store.IntegrationQuery) ([]*store.Integration, error)
	DeleteIntegration(ctx context.Context, id string) error
	PurgeIntegrations(ctx context.Context, before time.Time, limit int) (int, error)
	AppendLogs(ctx context.Context, logs []*store.LogEntry) error
	ListLogs(ctx context.Context, q store.LogQuery, offset, limit int) ([]*store.LogEntry, int, error)
	PurgeLogs(ctx context.Context, before time.Time, limit int) (int, error)
}

// integration is Keptn's uniform integration (go-utils models.Integration).
type integration struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	MetaData      integrationMeta `json:"metadata"`
	Subscriptions []subscription  `json:"subscriptions"`
}

type integrationMeta struct {
	Hostname           string     `json:"hostname"`
	IntegrationVersion string     `json:"integrationversion"`
	DistributorVersion string     `json:"distributorversion"`
	Location           string     `json:"location"`
	KubernetesMetaData kubernetes `json:"kubernetesmetadata"`
	LastSeen           time.Time  `json:"lastseen"`
}

type kubernetes struct {
	Namespace      string `json:"namespace"`
	PodName        string `json:"podname"`
	DeploymentName string `json:"deploymentname"`
}

// subscription is Keptn's EventSubscription. Filter lists keep the
// difference between absent (null) and empty ([]) that clients sent.
type subscription struct {
	ID     string             `json:"id"`
	Event  string             `json:"event"`
	Filter subscriptionFilter `json:"filter"`
}

type subscriptionFilter struct {
	Projects []string `json:"projects"`
	Stages   []string `json:"stages"`
	Services []string `json:"services"`
}

// webhookService is the integration whose subscriptions must name exactly
// one project (Keptn: a webhook must not fire for every project).
const webhookService = "webhook-service"

// maxIdentityBytes caps name, namespace and hostname: they become store keys
// (Firestore document ids are at most 1500 bytes).
const maxIdentityBytes = 512

// Keptn's messages.
const (
	msgIncompleteID          = "incomplete integration ID. At least 'name','namespace' and 'nodename' must be set"
	msgNoEvent               = "the event must be specified when setting up a subscription"
	msgServiceWithoutStage   = "at least one stage must be specified when setting up a subscription filter for a service"
	msgWebhookOneProject     = "webhook should refer to exactly one project"
	msgIntegrationNotFound   = "uniform integration not found"
	msgSubscriptionNotFound  = "subscription not found"
	msgIntegrationsNoSupport = "uniform registration and logs are not supported by this store"
)

// integrationID is Keptn's id: the hex SHA-1 of "name-namespace-nodename".
func integrationID(name, namespace, hostname string) (string, error) {
	if name == "" || namespace == "" || hostname == "" {
		return "", badRequest("%s", msgIncompleteID)
	}
	sum := sha1.Sum([]byte(name + "-" + namespace + "-" + hostname)) //nolint:gosec // see import
	return hex.EncodeToString(sum[:]), nil
}

// validateSubscription applies Keptn's rules; checkProject is set for the
// webhook-service (on registration and subscription PUT, as Keptn checks).
func validateSubscription(s subscription, checkProject bool) error {
	if s.Event == "" {
		return badRequest("%s", msgNoEvent)
	}
	if len(s.Filter.Services) > 0 && len(s.Filter.Stages) == 0 {
		return badRequest("%s", msgServiceWithoutStage)
	}
	if checkProject && len(s.Filter.Projects) != 1 {
		return badRequest("%s", msgWebhookOneProject)
	}
	return nil
}

func validateSubscriptions(subs []subscription, integrationName string) error {
	for _, s := range subs {
		if err := validateSubscription(s, integrationName == webhookService); err != nil {
			return err
		}
	}
	return nil
}

// toRecord is the stored form of in; the subscription filters are indexed.
func toRecord(in *integration) (*store.Integration, error) {
	if in.Subscriptions == nil {
		in.Subscriptions = []subscription{}
	}
	body, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encode integration %s: %w", in.ID, err)
	}
	rec := &store.Integration{ID: in.ID, Name: in.Name, Namespace: in.MetaData.KubernetesMetaData.Namespace,
		Hostname: in.MetaData.Hostname, LastSeen: in.MetaData.LastSeen, Body: body}
	add := func(list []string, items []string) []string {
		for _, s := range items {
			if !slices.Contains(list, s) {
				list = append(list, s)
			}
		}
		return list
	}
	for _, s := range in.Subscriptions {
		rec.Projects = add(rec.Projects, s.Filter.Projects)
		rec.Stages = add(rec.Stages, s.Filter.Stages)
		rec.Services = add(rec.Services, s.Filter.Services)
	}
	return rec, nil
}

// fromRecord decodes a stored integration; the record's id and last-seen
// time are authoritative.
func fromRecord(rec *store.Integration) (*integration, error) {
	var in integration
	if err := json.Unmarshal(rec.Body, &in); err != nil {
		return nil, fmt.Errorf("decode integration %s: %w", rec.ID, err)
	}
	in.ID, in.MetaData.LastSeen = rec.ID, rec.LastSeen
	if in.Subscriptions == nil {
		in.Subscriptions = []subscription{}
	}
	return &in, nil
}

// integrationStore returns the store's IntegrationStore or a 501 answer.
func (a *api) integrationStore() (IntegrationStore, error) {
	if a.integ == nil {
		return nil, errorf(http.StatusNotImplemented, "%s", msgIntegrationsNoSupport)
	}
	return a.integ, nil
}

// now is the API's clock in UTC at the precision the stores keep.
func (a *api) now() time.Time { return a.deps.Clock().UTC().Truncate(time.Microsecond) }

// expired reports whether an integration last seen at seen is gone: Keptn's
// TTL index deleted it then. Expired records are hidden on read and purged
// from time to time (purgeExpired).
func (a *api) expired(seen, now time.Time) bool { return seen.Before(now.Add(-a.cfg.IntegrationTTL)) }

// POST /api/controlPlane/v1/uniform/registration
func (a *api) registerIntegration(w http.ResponseWriter, r *http.Request) error {
	st, err := a.integrationStore()
	if err != nil {
		return err
	}
	var req integration
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req, false); err != nil {
		return err
	}
	name, ns, host := req.Name, req.MetaData.KubernetesMetaData.Namespace, req.MetaData.Hostname
	for _, f := range [][2]string{{"name", name}, {"metadata.kubernetesmetadata.namespace", ns}, {"metadata.hostname", host}} {
		if len(f[1]) > maxIdentityBytes {
			return badRequest("%s must be at most %d bytes", f[0], maxIdentityBytes)
		}
	}
	now := a.now()
	var created bool
	rec, err := st.RegisterIntegration(r.Context(), name, ns, func(cur *store.Integration) (*store.Integration, error) {
		created = false
		if cur != nil && !a.expired(cur.LastSeen, now) {
			// Keptn: the registration stays; only the versions and
			// lastseen change, and its subscriptions are kept unless it
			// has none, in which case it takes the request's.
			in, err := fromRecord(cur)
			if err != nil {
				return nil, err
			}
			in.MetaData.IntegrationVersion = req.MetaData.IntegrationVersion
			in.MetaData.DistributorVersion = req.MetaData.DistributorVersion
			in.MetaData.LastSeen = now
			if len(in.Subscriptions) == 0 && len(req.Subscriptions) > 0 {
				if err := validateSubscriptions(req.Subscriptions, name); err != nil {
					return nil, err
				}
				in.Subscriptions = a.withNewIDs(req.Subscriptions)
			}
			return toRecord(in)
		}
		id, err := integrationID(name, ns, host)
		if err != nil {
			return nil, err
		}
		if err := validateSubscriptions(req.Subscriptions, name); err != nil {
			return nil, err
		}
		in := req
		in.ID = id
		in.MetaData.LastSeen = now
		in.Subscriptions = a.withNewIDs(req.Subscriptions)
		created = true
		return toRecord(&in)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return errorf(http.StatusConflict, "another integration already has the id of %s/%s on %s", name, ns, host)
	}
	if err != nil {
		return fmt.Errorf("register integration: %w", err)
	}
	a.purgeExpired(r.Context())
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]string{"id": rec.ID})
	return nil
}

// withNewIDs copies subs with a fresh id each (Keptn ignores client ids).
func (a *api) withNewIDs(subs []subscription) []subscription {
	out := make([]subscription, len(subs))
	for i, s := range subs {
		s.ID = a.deps.NewID()
		out[i] = s
	}
	return out
}

// GET /api/controlPlane/v1/uniform/registration
func (a *api) listIntegrations(w http.ResponseWriter, r *http.Request) error {
	st, err := a.integrationStore()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	recs, err := st.ListIntegrations(r.Context(), store.IntegrationQuery{
		ID: q.Get("id"), Name: q.Get("name"), Namespace: q.Get("namespace"), Hostname: q.Get("hostname"),
		Project: q.Get("project"), Stage: q.Get("stage"), Service: q.Get("service"),
		SeenSince: a.now().Add(-a.cfg.IntegrationTTL),
	})
	if err != nil {
		return fmt.Errorf("list integrations: %w", err)
	}
	out := make([]*integration, 0, len(recs))
	for _, rec := range recs {
		in, err := fromRecord(rec)
		if err != nil {
			return err
		}
		out = append(out, in)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// liveIntegration loads an integration that has not expired.
func (a *api) liveIntegration(ctx context.Context, st IntegrationStore, id string) (*integration, error) {
	rec, err := st.GetIntegration(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && a.expired(rec.LastSeen, a.now())) {
		return nil, notFound("%s", msgIntegrationNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load integration %s: %w", id, err)
	}
	return fromRecord(rec)
}

// errUnchanged aborts an update that has nothing to write.
var errUnchanged = errors.New("unchanged")

// updateLive changes a live integration with fn and answers 404 for a
// missing or expired one.
func (a *api) updateLive(ctx context.Context, st IntegrationStore, id string, fn func(in *integration) error) (*integration, error) {
	now := a.now()
	var out *integration
	_, err := st.UpdateIntegration(ctx, id, func(rec *store.Integration) error {
		if a.expired(rec.LastSeen, now) {
			return notFound("%s", msgIntegrationNotFound)
		}
		in, err := fromRecord(rec)
		if err != nil {
			return err
		}
		if err := fn(in); err != nil {
			return err
		}
		next, err := toRecord(in)
		if err != nil {
			return err
		}
		*rec = *next
		out = in
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("%s", msgIntegrationNotFound)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PUT /api/controlPlane/v1/uniform/registration/{integrationID}/ping
func (a *api) pingIntegration(w http.ResponseWriter, r *http.Request) error {
	st, err := a.integrationStore()
	if err != nil {
		return err
	}
	now := a.now()
	in, err := a.updateLive(r.Context(), st, r.PathValue("integrationID"), func(in *integration) error {
		in.MetaData.LastSeen = now
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, in)
	return nil
}

// DELETE /api/controlPlane/v1/uniform/registration/{integrationID}
func (a *api) unregisterIntegration(w http.ResponseWriter, r *http.Request) error {
	st, err := a.integrationStore()
	if err != nil {
		return err
	}
	// Keptn answers 200 whether or not the integration existed.
	if err := st.DeleteIntegration(r.Context(), r.PathValue("integrationID")); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete integration: %w", err)
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func (a *api) decodeSubscription(w http.ResponseWriter, r *http.Request) (subscription, error) {
	var s subscription
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &s, false); err != nil {
		return s, err
	}
	return s, validateSubscription(s, false)
}

// POST /api/controlPlane/v1/uniform/registration/{integrationID}/subscription
// (Keptn does not apply the webhook-service project rule here).
func (a *api) createSubscription(w http.ResponseWriter, r *http.Request) error {
	st, err := a.integrationStore()
	if err != nil {
		return err
	}
	s, err := a.decodeSubscription(w, r)
	if err != nil {
		return err
	}
	s.ID = a.deps.NewID()
	_, err = a.updateLive(r.Context(), st, r.PathValue("integrationID"), func(in *integration) error {
		in.Subscriptions = append(in.Subscriptions, s)
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": s.ID})
	return nil
}

// PUT /api/controlPlane/v1/uniform/registration/{integrationID}/subscription/{subscriptionID}
// replaces the subscription, or adds it under that id.
func (a *api) updateSubscription(w http.ResponseWriter, r *http.Request) error {
	st, err := a.integrationStore()
	if err != nil {
		return err
	}
	s, err := a.decodeSubscription(w, r)
	if err != nil {
		return err
	}
	s.ID = r.PathValue("subscriptionID")
	_, err = a.updateLive(r.Context(), st, r.PathValue("integrationID"), func(in *integration) error {
		if err := validateSubscription(s, in.Name == webhookService); err != nil {
			return err
		}
		if i := slices.IndexFunc(in.Subscriptions, func(x subscription) bool { return x.ID == s.ID }); i >= 0 {
			in.Subscriptions[i] = s
		} else {
			in.Subscriptions = append(in.Subscriptions, s)
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": s.ID})
	return nil
}

// GET /api/controlPlane/v1/uniform/registration/{integrationID}/subscription/{subscriptionID}
func (a *api) getSubscription(w http.ResponseWriter, r *http.Request) error {
	st, err := a.integrationStore()
	if err != nil {
		return err
	}
	in, err := a.liveIntegration(r.Context(), st, r.PathValue("integrationID"))
	if err != nil {
		return err
	}
	i := slices.IndexFunc(in.Subscriptions, func(x subscription) bool { return x.ID == r.PathValue("subscriptionID") })
	if i < 0 {
		return notFound("%s", msgSubscriptionNotFound)
	}
	writeJSON(w, http.StatusOK, in.Subscriptions[i])
	return nil
}

// GET /api/controlPlane/v1/uniform/registration/{integrationID}/subscription
func (a *api) listSubscriptions(w http.ResponseWriter, r *http.Request) error {
	st, err := a.integrationStore()
	if err != nil {
		return err
	}
	in, err := a.liveIntegration(r.Context(), st, r.PathValue("integrationID"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, in.Subscriptions)
	return nil
}

// DELETE /api/controlPlane/v1/uniform/registration/{integrationID}/subscription/{subscriptionID}
// answers 200 also when there was nothing to delete, as Keptn does.
func (a *api) deleteSubscription(w http.ResponseWriter, r *http.Request) error {
	st, err := a.integrationStore()
	if err != nil {
		return err
	}
	sid := r.PathValue("subscriptionID")
	_, err = a.updateLive(r.Context(), st, r.PathValue("integrationID"), func(in *integration) error {
		n := len(in.Subscriptions)
		in.Subscriptions = slices.DeleteFunc(in.Subscriptions, func(x subscription) bool { return x.ID == sid })
		if len(in.Subscriptions) == n {
			return errUnchanged
		}
		return nil
	})
	var he *httpError
	if err != nil && !errors.Is(err, errUnchanged) && !(errors.As(err, &he) && he.status == http.StatusNotFound) {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// Expired integrations and logs are hidden on read; purgeExpired deletes a
// bounded batch of them at most once per purgeInterval, piggybacking on
// write requests (a Knative function has no background time of its own).
const (
	purgeInterval = time.Minute
	purgeBatch    = 200
)

type purgeState struct {
	mu   sync.Mutex
	next time.Time
}

func (a *api) purgeExpired(ctx context.Context) {
	now := a.now()
	a.purge.mu.Lock()
	if now.Before(a.purge.next) {
		a.purge.mu.Unlock()
		return
	}
	a.purge.next = now.Add(purgeInterval)
	a.purge.mu.Unlock()
	if n, err := a.integ.PurgeIntegrations(ctx, now.Add(-a.cfg.IntegrationTTL), purgeBatch); err != nil {
		a.log.Warn("purge expired integrations", zap.Error(err))
	} else if n > 0 {
		a.log.Info("purged expired integrations", zap.Int("count", n))
	}
	if n, err := a.integ.PurgeLogs(ctx, now.Add(-a.cfg.LogTTL), purgeBatch); err != nil {
		a.log.Warn("purge expired logs", zap.Error(err))
	} else if n > 0 {
		a.log.Info("purged expired logs", zap.Int("count", n))
	}
}
