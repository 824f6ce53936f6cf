// Package bridge is Slipway's web view (Keptn's Bridge): server-rendered pages
// under /bridge/ with Keptn's deep links, and the API page under
// /api/swagger-ui/. It reads and acts only through the REST API handler it is
// given, called in process with the API token it is configured with, so the
// browser never holds the token and every action takes the same route and
// checks as the CLI's.
package bridge

import (
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/faillimit"
)

// Config is the Bridge's configuration, read from the environment by LoadConfig.
type Config struct {
	// BasicAuthUsername and BasicAuthPassword turn on HTTP basic auth for
	// every page and action, as Keptn's Bridge did (both must be set).
	BasicAuthUsername string `envconfig:"BASIC_AUTH_USERNAME"`
	BasicAuthPassword string `envconfig:"BASIC_AUTH_PASSWORD"`
	// ReadOnly hides every action and refuses every POST (off by default).
	ReadOnly bool `envconfig:"BRIDGE_READ_ONLY"`
	// Disabled serves no Bridge and no API page (everything goes to the API).
	Disabled bool `envconfig:"BRIDGE_DISABLED"`
	// PollInterval is how often live pages refresh (default 1s).
	PollInterval time.Duration `envconfig:"BRIDGE_POLL_INTERVAL" default:"1s"`
}

// LoadConfig reads Config from the environment.
func LoadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		return Config{}, fmt.Errorf("bridge config: %w", err)
	}
	if (c.BasicAuthUsername == "") != (c.BasicAuthPassword == "") {
		return Config{}, errors.New("bridge config: set both BASIC_AUTH_USERNAME and BASIC_AUTH_PASSWORD, or neither")
	}
	return c, nil
}

// Paths the Bridge serves.
const (
	Prefix     = "/bridge/"
	SwaggerDir = "/api/swagger-ui/"
	// openAPIDoc is served by the API handler (shared/api.OpenAPIPath).
	openAPIDoc = SwaggerDir + "swagger.yaml"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Server renders the Bridge.
type Server struct {
	cfg   Config
	api   *apiClient
	log   *zap.Logger
	pages *pages
	mux   *http.ServeMux
	cop   *http.CrossOriginProtection
	// userHash and passHash are the SHA-256 of the basic-auth credentials
	// (compared in constant time; nil when basic auth is off).
	userHash, passHash []byte
	fails              *faillimit.Limiter
	now                func() time.Time
}

// New returns the Bridge over the API handler; token is sent as x-token on
// every in-process API call.
func New(cfg Config, apiHandler http.Handler, token string, log *zap.Logger) (*Server, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, api: &apiClient{h: apiHandler, token: token}, log: log, pages: p,
		cop: http.NewCrossOriginProtection(), fails: faillimit.New(failRate, failBurst), now: time.Now}
	if cfg.BasicAuthUsername != "" && cfg.BasicAuthPassword != "" {
		u := sha256.Sum256([]byte(cfg.BasicAuthUsername))
		pw := sha256.Sum256([]byte(cfg.BasicAuthPassword))
		s.userHash, s.passHash = u[:], pw[:]
	}
	s.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusForbidden, "Cross-origin request refused",
			"Actions are accepted only from the Bridge's own pages.")
	}))
	s.routes()
	return s, nil
}

// Mount returns a handler that serves the Bridge and the API page from the
// Bridge and every other path from apiHandler. With cfg.Disabled it returns
// apiHandler.
func Mount(cfg Config, apiHandler http.Handler, token string, log *zap.Logger) (http.Handler, error) {
	if cfg.Disabled {
		return apiHandler, nil
	}
	s, err := New(cfg, apiHandler, token, log)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Owns(r.URL.Path) {
			s.ServeHTTP(w, r)
			return
		}
		apiHandler.ServeHTTP(w, r)
	}), nil
}

// Owns reports whether path is the Bridge's (everything under /bridge and
// the API page except the OpenAPI document, which the API serves).
func Owns(path string) bool {
	switch {
	case path == "/bridge" || strings.HasPrefix(path, Prefix):
		return true
	case path == "/api/swagger-ui" || strings.HasPrefix(path, SwaggerDir):
		return path != openAPIDoc
	}
	return false
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /bridge", redirectTo(Prefix))
	m.HandleFunc("GET /bridge/{$}", s.page(s.projectsPage))
	m.HandleFunc("GET /bridge/project/{project}", s.page(s.environmentPage))
	m.HandleFunc("GET /bridge/project/{project}/{$}", s.page(s.environmentPage))
	m.HandleFunc("GET /bridge/project/{project}/sequence", s.page(s.sequencesPage))
	m.HandleFunc("GET /bridge/project/{project}/sequence/{$}", s.page(s.sequencesPage))
	m.HandleFunc("GET /bridge/project/{project}/sequence/{kctx}", s.page(s.sequencePage))
	m.HandleFunc("GET /bridge/project/{project}/sequence/{kctx}/stage/{stage}", s.page(s.sequencePage))
	m.HandleFunc("GET /bridge/project/{project}/sequence/{kctx}/event/{eventID}", s.page(s.eventLink))
	m.HandleFunc("GET /bridge/project/{project}/service/{service}", s.page(s.servicePage))
	// Keptn's other links to a run: the service view's and the trace link
	// of notifications (the context alone, the project looked up).
	m.HandleFunc("GET /bridge/project/{project}/service/{service}/context/{kctx}", s.page(s.serviceContextLink))
	m.HandleFunc("GET /bridge/project/{project}/service/{service}/context/{kctx}/stage/{stage}", s.page(s.serviceContextLink))
	m.HandleFunc("GET /bridge/trace/{kctx}", s.page(s.traceLink))
	m.HandleFunc("GET /bridge/trace/{kctx}/{stage}", s.page(s.traceLink))
	m.HandleFunc("POST /bridge/project/{project}/sequence/{kctx}/control", s.action(s.controlAction))
	m.HandleFunc("POST /bridge/project/{project}/sequence/{kctx}/approval", s.action(s.approvalAction))
	m.HandleFunc("POST /bridge/project/{project}/sequence/{kctx}/finish", s.action(s.finishAction))
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /bridge/static/", http.StripPrefix("/bridge/static/", staticFiles(static, "")))
	m.HandleFunc("GET /api/swagger-ui", redirectTo(SwaggerDir))
	m.HandleFunc("GET /api/swagger-ui/{$}", s.swaggerIndex)
	m.Handle("GET /api/swagger-ui/", http.StripPrefix(SwaggerDir, staticFiles(static, "swagger-ui/")))
	s.mux = m
}

// ServeHTTP serves the Bridge's paths: basic auth first, then the route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.userHash != nil {
		client, now := clientAddr(r), s.now()
		if !s.fails.Ready(client, now) {
			w.Header().Set("Retry-After", "2")
			s.errorPage(w, r, http.StatusTooManyRequests, "Too many sign-in attempts", "Wait a few seconds and sign in again.")
			return
		}
		if !s.authorized(r) {
			if _, _, sent := r.BasicAuth(); sent { // a browser's first request carries none
				s.fails.Fail(client, now)
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="Slipway Bridge", charset="UTF-8"`)
			s.errorPage(w, r, http.StatusUnauthorized, "Sign in", "The Bridge needs a user name and password.")
			return
		}
	}
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		c := &statusOnly{header: http.Header{}}
		h.ServeHTTP(c, r)
		if c.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", c.header.Get("Allow"))
			s.errorPage(w, r, http.StatusMethodNotAllowed, "Method not allowed",
				r.Method+" is not accepted here; actions are buttons on the pages.")
			return
		}
		if c.status >= 300 && c.status < 400 {
			http.Redirect(w, r, c.header.Get("Location"), c.status)
			return
		}
		s.errorPage(w, r, http.StatusNotFound, "Page not found", "There is no Bridge page at "+r.URL.Path+".")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// authorized checks basic auth in constant time (both fields always compared).
func (s *Server) authorized(r *http.Request) bool {
	if s.userHash == nil {
		return true
	}
	u, p, ok := r.BasicAuth()
	uh := sha256.Sum256([]byte(u))
	ph := sha256.Sum256([]byte(p))
	match := subtle.ConstantTimeCompare(uh[:], s.userHash) & subtle.ConstantTimeCompare(ph[:], s.passHash)
	return ok && match == 1
}

// statusOnly records what the mux would answer for an unrouted request.
type statusOnly struct {
	header http.Header
	status int
}

func (c *statusOnly) Header() http.Header { return c.header }
func (c *statusOnly) WriteHeader(s int) {
	if c.status == 0 {
		c.status = s
	}
}
func (c *statusOnly) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return len(b), nil
}

func redirectTo(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, path, http.StatusMovedPermanently) }
}

// staticFiles serves the embedded files under dir; directories are not listed.
func staticFiles(root fs.FS, dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := dir + r.URL.Path
		if r.URL.Path == "" || strings.HasSuffix(name, "/") || !fs.ValidPath(name) {
			http.NotFound(w, r)
			return
		}
		b, err := fs.ReadFile(root, name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		switch {
		case strings.HasSuffix(name, ".js"):
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		case strings.HasSuffix(name, ".css"):
			w.Header().Set("Content-Type", "text/css; charset=utf-8")
		default:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		// Assets change only with the binary; an hour keeps reloads cheap.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(b)
	})
}
