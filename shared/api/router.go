package api

import (
	"bytes"
	_ "embed"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"go.uber.org/zap"
	"gopkg.in/yaml.v3"

	"github.com/slipwayhq/slipway/shared/store"
)

// api is the handler New returns.
type api struct {
	cfg  Config
	deps Deps
	caps store.Capabilities // the store's declared capabilities, filled in
	log  *zap.Logger
	auth *authenticator
	// historyTokens authenticate POST /internal/history (historyAuth).
	historyTokens tokenSet
	mux           *http.ServeMux
	// history is the wrapped history ingestion, nil when disabled: it takes
	// every event the broker carries, so it skips the mux.
	history http.Handler
	// integ is deps.Store.Integrations(), nil if the driver has none.
	integ IntegrationStore
	purge purgeState
	// cursors keeps the store cursor behind each event-history offset handed out.
	cursors *eventCursors
	// routes is the table the mux was built from (the OpenAPI test reads it).
	routes []route
}

// route is one endpoint. Patterns use http.ServeMux syntax.
type route struct {
	method, path string
	public       bool // no x-token (health, docs, in-cluster history ingest)
	h            handlerFunc
}

//go:embed openapi.yaml
var openAPISource []byte

// openAPIDoc is the served document: the source with YAML anchors and merge
// keys resolved, so tools without merge-key support read it too.
var openAPIDoc = sync.OnceValues(func() ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(openAPISource, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	if c, ok := doc["components"].(map[string]any); ok {
		for k := range c {
			if strings.HasPrefix(k, "x-") {
				delete(c, k)
			}
		}
	}
	return yaml.Marshal(doc)
})

// OpenAPIPath is where the OpenAPI 3 document of the API is served (the path
// Keptn's gateway used for its swagger document).
const OpenAPIPath = "/api/swagger-ui/swagger.yaml"

// Uniform registration and integration logs (shipyard-controller paths).
const (
	uniformPath = "/api/controlPlane/v1/uniform/registration"
	logPath     = "/api/controlPlane/v1/log"
)

// HistoryPath receives every Keptn event from the broker for the event history.
const HistoryPath = "/internal/history"

// New returns the API handler. cfg zero values mean defaults (see Config);
// deps.Store, deps.Publisher and deps.Sequences are required.
func New(cfg Config, deps Deps) http.Handler {
	cfg = cfg.withDefaults()
	deps = deps.withDefaults()
	a := &api{cfg: cfg, deps: deps, log: deps.Logger, cursors: newEventCursors(1024)}
	if deps.Store != nil {
		a.caps = deps.Store.Capabilities()
		if is := deps.Store.Integrations(); is != nil {
			a.integ = is
		}
	}
	a.auth = newAuthenticator(cfg, deps.Clock)
	a.historyTokens = newTokenSet(trimmed(cfg.HistoryTokens))
	if a.integ == nil {
		a.log.Warn("the store has no integrations: uniform registration and logs answer 501",
			zap.String("store", fmt.Sprintf("%T", deps.Store)))
	}
	a.mux = http.NewServeMux()
	a.routes = a.table()
	for _, rt := range a.routes {
		h := a.wrap(rt)
		a.mux.Handle(rt.method+" "+rt.path, h)
		if rt.method == http.MethodPost && rt.path == HistoryPath {
			a.history = h
		}
	}
	return a
}

func (a *api) table() []route {
	rs := []route{
		{"GET", "/health", true, a.health},
		{"GET", OpenAPIPath, true, a.openAPI},

		{"POST", "/api/v1/event", false, a.postEvent},
		{"GET", "/api/v1/metadata", false, a.metadata},
		{"POST", "/api/v1/auth", false, a.authOK},

		{"POST", "/api/controlPlane/v1/project", false, a.createProject},
		{"PUT", "/api/controlPlane/v1/project", false, a.updateProject},
		{"GET", "/api/controlPlane/v1/project", false, a.listProjects},
		{"GET", "/api/controlPlane/v1/project/{project}", false, a.getProject},
		{"DELETE", "/api/controlPlane/v1/project/{project}", false, a.deleteProject},
		{"GET", "/api/controlPlane/v1/project/{project}/stage", false, a.listStages},
		{"GET", "/api/controlPlane/v1/project/{project}/stage/{stage}", false, a.getStage},
		{"POST", "/api/controlPlane/v1/project/{project}/service", false, a.createService},
		{"DELETE", "/api/controlPlane/v1/project/{project}/service/{service}", false, a.deleteService},
		{"GET", "/api/controlPlane/v1/project/{project}/stage/{stage}/service", false, a.listServices},
		{"GET", "/api/controlPlane/v1/project/{project}/stage/{stage}/service/{service}", false, a.getService},
		{"POST", "/api/controlPlane/v1/project/{project}/stage/{stage}/service/{service}/evaluation", false, a.evaluation},

		{"GET", "/api/controlPlane/v1/sequence/{project}", false, a.sequenceStates},
		{"POST", "/api/controlPlane/v1/sequence/{project}/{keptnContext}/control", false, a.sequenceControl},
		{"GET", "/api/controlPlane/v1/sequence-execution", false, a.sequenceExecutions},
		{"GET", "/api/controlPlane/v1/event/triggered/{eventType}", false, a.openTriggered},
		{"POST", ClaimPath, false, a.claimTask},

		{"POST", uniformPath, false, a.registerIntegration},
		{"GET", uniformPath, false, a.listIntegrations},
		{"DELETE", uniformPath + "/{integrationID}", false, a.unregisterIntegration},
		{"PUT", uniformPath + "/{integrationID}/ping", false, a.pingIntegration},
		{"POST", uniformPath + "/{integrationID}/subscription", false, a.createSubscription},
		{"GET", uniformPath + "/{integrationID}/subscription", false, a.listSubscriptions},
		{"GET", uniformPath + "/{integrationID}/subscription/{subscriptionID}", false, a.getSubscription},
		{"PUT", uniformPath + "/{integrationID}/subscription/{subscriptionID}", false, a.updateSubscription},
		{"DELETE", uniformPath + "/{integrationID}/subscription/{subscriptionID}", false, a.deleteSubscription},
		{"POST", logPath, false, a.createLogs},
		{"GET", logPath, false, a.listLogs},
		// Refused before authentication, as Keptn's gateway denied it.
		{"DELETE", logPath, true, a.deleteLogs},

		{"GET", secretPath, false, a.listSecrets},
		{"POST", secretPath, false, a.createSecret},
		{"PUT", secretPath, false, a.updateSecret},
		{"DELETE", secretPath, false, a.deleteSecret},
		{"GET", "/api/secrets/v1/scope", false, a.listScopes},

		{"GET", "/api/mongodb-datastore/event", false, a.listEvents},
		{"GET", "/api/mongodb-datastore/event/type/{eventType}", false, a.eventsByType},
	}
	// configuration-service is the Keptn 0.x/1.x name of the resource
	// service: older clients, the Keptn docs' curl examples and scripts still
	// use it, so it is served by the same handlers behind the same auth.
	for _, lvl := range []string{
		"/api/resource-service/v1/project/{project}",
		"/api/resource-service/v1/project/{project}/stage/{stage}",
		"/api/resource-service/v1/project/{project}/stage/{stage}/service/{service}",
		"/api/configuration-service/v1/project/{project}",
		"/api/configuration-service/v1/project/{project}/stage/{stage}",
		"/api/configuration-service/v1/project/{project}/stage/{stage}/service/{service}",
	} {
		rs = append(rs,
			route{"POST", lvl + "/resource", false, a.createResources},
			route{"PUT", lvl + "/resource", false, a.updateResources},
			route{"GET", lvl + "/resource", false, a.listResources},
			route{"GET", lvl + "/resource/{resourceURI...}", false, a.getResource},
			route{"PUT", lvl + "/resource/{resourceURI...}", false, a.updateResource},
			route{"DELETE", lvl + "/resource/{resourceURI...}", false, a.deleteResource},
		)
	}
	if !a.cfg.DisableHistoryIngest {
		// Not behind x-token: behind its own history token (historyAuth).
		rs = append(rs, route{"POST", HistoryPath, true, a.historyAuth(a.ingestHistory)})
	}
	return rs
}

// wrap applies authentication, the general body limit and error rendering.
func (a *api) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !rt.public {
			if status, msg, ok := a.auth.check(r); !ok {
				writeErrorBody(w, status, msg)
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
		if err := rt.h(w, r); err != nil {
			a.serveError(w, r, err)
		}
	})
}

// ServeHTTP routes r. Unknown routes and wrong methods get Keptn error
// bodies too, and paths with dot segments are refused before routing.
func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			a.log.Error("handler panic", zap.Any("panic", v), zap.String("path", r.URL.Path))
			writeErrorBody(w, http.StatusInternalServerError, "internal error")
		}
	}()
	if a.history != nil && r.Method == http.MethodPost && r.URL.Path == HistoryPath {
		a.history.ServeHTTP(w, r) // what the mux would pick, without routing twice
		return
	}
	if hasDotSegment(r.URL.EscapedPath()) {
		writeErrorBody(w, http.StatusBadRequest, "path must not contain '.' or '..' segments")
		return
	}
	h, pattern := a.mux.Handler(r)
	if pattern != "" {
		a.mux.ServeHTTP(w, r) // the mux sets the path values
		return
	}
	// Not found, method not allowed or a redirect: let the mux decide the
	// status, then replace its plain-text body with Keptn's error body.
	c := &captureWriter{header: http.Header{}}
	h.ServeHTTP(c, r)
	for k, v := range c.header {
		if k == "Content-Type" || k == "X-Content-Type-Options" || k == "Content-Length" {
			continue
		}
		w.Header()[k] = v
	}
	switch {
	case c.status == http.StatusMethodNotAllowed:
		writeErrorBody(w, c.status, "method "+r.Method+" not allowed on "+r.URL.Path)
	case c.status >= 400 || c.status == 0:
		writeErrorBody(w, http.StatusNotFound, "no route for "+r.URL.Path)
	default:
		w.WriteHeader(c.status)
		_, _ = w.Write(c.body.Bytes())
	}
}

// hasDotSegment reports whether an escaped path has a "." or ".." segment,
// also when the dots are percent-encoded.
func hasDotSegment(escaped string) bool {
	for _, seg := range strings.Split(escaped, "/") {
		s := strings.ToLower(seg)
		s = strings.ReplaceAll(s, "%2e", ".")
		if s == "." || s == ".." {
			return true
		}
		// "%2F" hides further segments inside one escaped segment.
		if strings.Contains(s, "%2f") || strings.Contains(s, "%5c") {
			for _, sub := range strings.FieldsFunc(strings.NewReplacer("%2f", "/", "%5c", "/").Replace(s), func(r rune) bool { return r == '/' }) {
				if sub == "." || sub == ".." {
					return true
				}
			}
		}
	}
	return false
}

type captureWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *captureWriter) Header() http.Header { return c.header }
func (c *captureWriter) WriteHeader(s int) {
	if c.status == 0 {
		c.status = s
	}
}
func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}

// GET /health: OK while the store takes writes. A store that refuses them
// (a full disk) answers 503 with the reason, so a probe or an operator sees
// that every event is being refused although reads still work; it turns OK
// again once a probe write succeeds.
func (a *api) health(w http.ResponseWriter, r *http.Request) error {
	if a.caps.Health != nil {
		if err := a.caps.Health(r.Context()); err != nil {
			a.log.Warn("health: store refuses writes", zap.Error(err))
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"code": http.StatusServiceUnavailable,
				"message": "store refuses writes: " + err.Error()})
			return nil
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "OK"})
	return nil
}

func (a *api) openAPI(w http.ResponseWriter, _ *http.Request) error {
	doc, err := openAPIDoc()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(doc)
	return nil
}
