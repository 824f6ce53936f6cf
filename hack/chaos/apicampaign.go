package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// route is one method and path template of the API, read from the OpenAPI
// document the runtime serves, so new routes are fuzzed without editing this.
type route struct{ method, path string }

const campaignToken = "chaos-campaign-token-6b3f0c2a9e1d4f5a"

// apiRuntime starts a runtime for the API campaigns with its stderr in a
// file (the token-never-logged check reads it) and seeds a project.
func apiRuntime(ctx context.Context, bin, root, tmp string) (*proc, *client, []route, error) {
	trig := filepath.Join(tmp, "triggers")
	if err := writeTriggers(root, trig, "127.0.0.1:9"); err != nil {
		return nil, nil, nil, err
	}
	p := &proc{bin: bin, logFile: filepath.Join(tmp, "runtime.log"), env: []string{
		"SLIPWAY_DATA_DIR=" + filepath.Join(tmp, "data"),
		"SLIPWAY_API_ADDR=127.0.0.1:0", "SLIPWAY_BROKER_ADDR=127.0.0.1:0",
		"SLIPWAY_API_TOKEN=" + campaignToken, "SLIPWAY_PROJECT_TRIGGERS=" + trig,
		"SLIPWAY_LOG=debug", // the token must not show even in debug logs
	}}
	if err := p.start(ctx); err != nil {
		return nil, nil, nil, err
	}
	api := &client{bases: []string{p.api}, token: campaignToken, c: &http.Client{Timeout: 30 * time.Second}}
	sy := "apiVersion: spec.keptn.sh/0.2.3\nkind: Shipyard\nmetadata: {name: p}\nspec:\n  stages:\n" +
		"    - name: dev\n      sequences: [{name: delivery, tasks: [{name: deploy}]}]\n"
	if err := api.post(ctx, "/api/controlPlane/v1/project", map[string]any{"name": "p",
		"shipyard": base64.StdEncoding.EncodeToString([]byte(sy))}); err != nil {
		p.kill()
		return nil, nil, nil, err
	}
	if err := api.post(ctx, "/api/controlPlane/v1/project/p/service", map[string]any{"serviceName": "s"}); err != nil {
		p.kill()
		return nil, nil, nil, err
	}
	routes, err := openAPIRoutes(ctx, api)
	if err != nil {
		p.kill()
		return nil, nil, nil, err
	}
	return p, api, routes, nil
}

func openAPIRoutes(ctx context.Context, api *client) ([]route, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api.bases[0]+"/api/swagger-ui/swagger.yaml", nil)
	res, err := api.c.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("OpenAPI document: %w", err)
	}
	var out []route
	for path, ops := range doc.Paths {
		for m := range ops {
			switch m {
			case "get", "post", "put", "delete", "patch":
				out = append(out, route{strings.ToUpper(m), path})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path+out[i].method < out[j].path+out[j].method })
	if len(out) < 20 {
		return nil, fmt.Errorf("the OpenAPI document lists %d routes", len(out))
	}
	return out, nil
}

var param = regexp.MustCompile(`\{[^}]+\}`)

// keptnError is Keptn's error body.
type keptnError struct {
	Code    *int    `json:"code"`
	Message *string `json:"message"`
}

func isKeptnError(status int, body []byte) bool {
	var e keptnError
	if json.Unmarshal(body, &e) != nil || e.Code == nil || e.Message == nil {
		return false
	}
	return *e.Code == status
}

// AuthReport is the auth campaign's outcome.
type AuthReport struct {
	Routes, Requests int
	Problems         []string
}

// AuthCampaign sends every route without a token, with a wrong token and
// with the token in the query string (the API takes it only from the
// x-token header), and checks that each is refused with a Keptn error body
// and that neither token shows in the runtime's log.
func AuthCampaign(ctx context.Context, bin, root string) (AuthReport, error) {
	tmp, err := os.MkdirTemp("", "slipway-auth")
	if err != nil {
		return AuthReport{}, err
	}
	defer os.RemoveAll(tmp)
	p, api, routes, err := apiRuntime(ctx, bin, root, tmp)
	if err != nil {
		return AuthReport{}, err
	}
	defer p.kill()
	var rep AuthReport
	const wrong = "wrong-token-3c9d2e7f1a6b4c8d"
	public := map[string]bool{"GET /health": true, "GET /api/swagger-ui/swagger.yaml": true,
		"DELETE /api/controlPlane/v1/log": true} // the last is refused for everyone (403), as Keptn's gateway did
	for _, rt := range routes {
		if public[rt.method+" "+rt.path] {
			continue
		}
		rep.Routes++
		path := param.ReplaceAllStringFunc(rt.path, func(string) string { return "p" })
		for _, c := range []struct {
			name, query string
			header      string
		}{
			{"no token", "", ""},
			{"wrong token", "", wrong},
			{"token in query x-token", "?x-token=" + campaignToken, ""},
			{"token in query token", "?token=" + campaignToken, ""},
			{"token in query apiToken", "?apiToken=" + campaignToken, ""},
		} {
			body := []byte(`{"name":"p","type":"sh.keptn.event.dev.delivery.triggered","data":{"project":"p","stage":"dev","service":"s"}}`)
			req, _ := http.NewRequestWithContext(ctx, rt.method, api.bases[0]+path+c.query, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if c.header != "" {
				req.Header.Set("x-token", c.header)
			}
			res, err := api.c.Do(req)
			if err != nil {
				return rep, err
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			rep.Requests++
			if res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusTooManyRequests {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s %s with %s: %d, want 401 (or 429 from the failure limiter)", rt.method, path, c.name, res.StatusCode))
				continue
			}
			if !isKeptnError(res.StatusCode, b) {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s %s with %s: body %q is not a Keptn error", rt.method, path, c.name, b))
			}
		}
	}
	if err := p.stop(); err != nil {
		return rep, err
	}
	logs, err := os.ReadFile(p.logFile)
	if err != nil {
		return rep, err
	}
	for _, tok := range []string{campaignToken, wrong} {
		if bytes.Contains(logs, []byte(tok)) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("a token (%s…) shows in the runtime log", tok[:8]))
		}
	}
	return rep, nil
}

// FuzzReport is the API fuzzer's outcome.
type FuzzReport struct {
	Requests       int
	ByStatus       map[int]int
	CheckedBatches int // batches with no accepted change, state compared before and after
	// ProblemCount counts every broken rule; Problems keeps the first 30.
	ProblemCount int
	// ResetsOnLargeBody counts bodies over the 64 KB limit whose answer the
	// client could not read (the server closed while it was still writing).
	ResetsOnLargeBody int
	SwaggerPlain404   int
	Problems          []string
}

// FuzzAPI sends n random requests (method, path, query, headers, body)
// over every route with the valid token, in batches of concurrent
// requests. No answer may be a 5xx, every non-2xx answer must be a Keptn
// error body, and a batch in which no request other than a GET was
// accepted must leave the state as it found it.
func FuzzAPI(ctx context.Context, bin, root string, n int, seed uint64) (FuzzReport, error) {
	tmp, err := os.MkdirTemp("", "slipway-fuzz")
	if err != nil {
		return FuzzReport{}, err
	}
	defer os.RemoveAll(tmp)
	p, api, routes, err := apiRuntime(ctx, bin, root, tmp)
	if err != nil {
		return FuzzReport{}, err
	}
	defer p.kill()
	rep := FuzzReport{ByStatus: map[int]int{}}
	g := &gen{rnd: rand.New(rand.NewPCG(seed, 99)), routes: routes}
	const batch, workers = 24, 8
	settled := ""
	for rep.Requests < n {
		if settled == "" {
			if settled, err = settle(ctx, api); err != nil {
				return rep, err
			}
		}
		reqs := make([]fuzzReq, batch)
		for i := range reqs {
			reqs[i] = g.next()
		}
		type answer struct {
			status int
			body   []byte
			err    error
		}
		answers := make([]answer, batch)
		var wg sync.WaitGroup
		next := make(chan int)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					st, b, err := reqs[i].do(ctx, api)
					answers[i] = answer{st, b, err}
				}
			}()
		}
		for i := range reqs {
			next <- i
		}
		close(next)
		wg.Wait()
		changed := false
		problem := func(f string, a ...any) {
			rep.ProblemCount++
			if len(rep.Problems) < 30 {
				rep.Problems = append(rep.Problems, fmt.Sprintf(f, a...))
			}
		}
		for i, a := range answers {
			if a.err != nil && len(reqs[i].body) > 64<<10 {
				// The server may answer 413 and close before the client
				// has written the whole body: the client sees a reset.
				rep.Requests++
				rep.ResetsOnLargeBody++
				continue
			}
			if a.err != nil {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %v (the runtime died?)", reqs[i], a.err))
				return rep, nil
			}
			rep.Requests++
			rep.ByStatus[a.status]++
			switch {
			case a.status >= 500:
				problem("%s: %d %.200s", reqs[i], a.status, a.body)
			case a.status >= 300 && reqs[i].method != http.MethodHead && !isKeptnError(a.status, a.body) &&
				strings.HasPrefix(reqs[i].path, "/api/swagger-ui/"):
				// The Bridge's Swagger UI file server answers unknown files
				// with Go's plain 404 (reported to the Bridge's owner).
				rep.SwaggerPlain404++
			case a.status >= 300 && reqs[i].method != http.MethodHead && !isKeptnError(a.status, a.body):
				problem("%s: %d with a body that is not a Keptn error: %.200s", reqs[i], a.status, a.body)
			case a.status < 300 && reqs[i].method != http.MethodGet && reqs[i].method != http.MethodHead &&
				!strings.HasPrefix(reqs[i].path, "/api/v1/auth"):
				changed = true
			}
		}
		if changed {
			settled = "" // accepted changes: settle again before the next check
			continue
		}
		after, err := digest(ctx, api)
		if err != nil {
			return rep, err
		}
		rep.CheckedBatches++
		if after != settled {
			// Confirm it is not a late effect of an earlier accepted change.
			time.Sleep(500 * time.Millisecond)
			again, err := digest(ctx, api)
			if err != nil {
				return rep, err
			}
			if again != settled {
				problem("state changed in a batch where every change was refused; first request %s", reqs[0])
				settled = ""
			}
		}
	}
	if err := p.stop(); err != nil {
		rep.Problems = append(rep.Problems, fmt.Sprintf("runtime did not stop cleanly after the fuzzing: %v", err))
	}
	logs, _ := os.ReadFile(p.logFile)
	if bytes.Contains(logs, []byte("panic")) {
		rep.Problems = append(rep.Problems, "the runtime log mentions a panic")
	}
	return rep, nil
}

// digest summarises the state a refused request must not change.
func digest(ctx context.Context, api *client) (string, error) {
	h := sha256.New()
	for _, path := range []string{
		"/api/controlPlane/v1/project?pageSize=100",
		"/api/controlPlane/v1/project/p/stage/dev/service",
		"/api/controlPlane/v1/sequence/p?pageSize=100",
		"/api/mongodb-datastore/event?project=p&pageSize=100",
		"/api/secrets/v1/secret",
		"/api/resource-service/v1/project/p/resource?pageSize=100",
		"/api/resource-service/v1/project/p/stage/dev/resource?pageSize=100",
		"/api/resource-service/v1/project/p/stage/dev/service/s/resource?pageSize=100",
		"/api/controlPlane/v1/log",
	} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api.bases[0]+path, nil)
		req.Header.Set("x-token", api.token)
		res, err := api.c.Do(req)
		if err != nil {
			return "", err
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Fprintf(h, "%s %d %s\n", path, res.StatusCode, b)
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

// settle waits until two digests a little apart agree (accepted events
// reach the history and sequences move asynchronously).
func settle(ctx context.Context, api *client) (string, error) {
	prev, err := digest(ctx, api)
	if err != nil {
		return "", err
	}
	for range 100 {
		time.Sleep(200 * time.Millisecond)
		cur, err := digest(ctx, api)
		if err != nil {
			return "", err
		}
		if cur == prev {
			return cur, nil
		}
		prev = cur
	}
	return prev, nil
}

type fuzzReq struct {
	method, path string
	header       http.Header
	body         []byte
}

func (r fuzzReq) String() string {
	return fmt.Sprintf("%s %s (%d bytes: %.80q)", r.method, r.path, len(r.body), r.body)
}

func (r fuzzReq) do(ctx context.Context, api *client) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, r.method, api.bases[0]+"/", bytes.NewReader(r.body))
	if err != nil {
		return 0, nil, err
	}
	// Sent as generated, invalid escapes included (a client's bytes, not
	// what net/url would accept).
	path, query, _ := strings.Cut(r.path, "?")
	req.URL.Opaque, req.URL.RawQuery = path, query
	req.Header = r.header.Clone()
	req.Header.Set("x-token", api.token)
	res, err := api.c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, b, err
}

// gen makes random requests: mostly a route's own method with mutated path
// parameters, query and body; sometimes another method or a path nobody
// serves.
type gen struct {
	rnd    *rand.Rand
	routes []route
}

var (
	names = []string{"p", "dev", "s", "delivery", "deploy", "sh.keptn.event.deploy.triggered", "", "..", "%2e%2e", "%2F",
		"a%00b", "UPPER", "with space", "ünïcödé", "-lead", strings.Repeat("x", 300), "1", "-1", "9999999999999999999999",
		"00000000-0000-4000-8000-000000000001", "shipyard.yaml", "a/b/c", "%", "%zz", "null", "{}", "'", "\""}
	queryKeys = []string{"pageSize", "nextPageKey", "keptnContext", "type", "project", "stage", "service", "eventType",
		"filter", "gitCommitID", "fromTime", "beforeTime", "name", "state", "excludeInvalidated", "limit", "source", "id"}
	methods = []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"}
)

func (g *gen) pick(xs []string) string { return xs[g.rnd.IntN(len(xs))] }

// seg is a path segment as a client library sends it: escaped, except the
// dot segments and encoded slashes a hostile client sends on purpose. (A
// request line that is not HTTP, such as a raw space or a bad escape, is
// refused by Go's HTTP server before any route, with its plain 400.)
func (g *gen) seg(xs []string) string {
	switch s := g.pick(xs); s {
	case "..", "%2e%2e", "%2F", "a%00b":
		return s
	default:
		return url.PathEscape(s)
	}
}

func (g *gen) next() fuzzReq {
	rt := g.routes[g.rnd.IntN(len(g.routes))]
	m := rt.method
	if g.rnd.IntN(8) == 0 {
		m = g.pick(methods)
	}
	path := param.ReplaceAllStringFunc(rt.path, func(string) string {
		if g.rnd.IntN(3) == 0 {
			return g.seg(names[:6])
		}
		return g.seg(names)
	})
	switch g.rnd.IntN(20) {
	case 0:
		path = "/api/" + g.seg(names) + "/" + g.seg(names)
	case 1:
		path += "/" + g.seg(names)
	}
	if g.rnd.IntN(2) == 0 {
		var q []string
		for range 1 + g.rnd.IntN(4) {
			q = append(q, g.pick(queryKeys)+"="+url.QueryEscape(g.pick(names)))
		}
		path += "?" + strings.Join(q, "&")
	}
	h := http.Header{}
	switch g.rnd.IntN(6) {
	case 0:
	case 1:
		h.Set("Content-Type", "text/plain")
	case 2:
		h.Set("Content-Type", "application/cloudevents+json")
	default:
		h.Set("Content-Type", "application/json")
	}
	if g.rnd.IntN(10) == 0 {
		h.Set("X-Forwarded-For", g.pick(names))
	}
	return fuzzReq{method: m, path: path, header: h, body: g.body()}
}

// body is empty, garbage, broken JSON, JSON of the wrong shape, a nearly
// valid Keptn event, deep nesting or a body over the 64 KB limit.
func (g *gen) body() []byte {
	switch g.rnd.IntN(10) {
	case 0:
		return nil
	case 1:
		b := make([]byte, g.rnd.IntN(512))
		for i := range b {
			b[i] = byte(g.rnd.IntN(256))
		}
		return b
	case 2:
		return []byte(`{"type": "sh.keptn.event.dev.delivery.triggered", "data": {"project": `)
	case 3:
		return []byte(strings.Repeat("[", 10000) + strings.Repeat("]", 10000))
	case 4:
		return bytes.Repeat([]byte(`{"a":1}`), 70000/7)
	}
	v := map[string]any{}
	fields := []string{"type", "specversion", "source", "id", "shkeptncontext", "triggeredid", "data", "name", "shipyard",
		"serviceName", "scope", "resources", "resourceURI", "resourceContent", "state", "stage", "gitRemoteURL",
		"gitToken", "gitUser", "subscription", "event", "filter", "metadata", "logs", "keptnContext"}
	for range 1 + g.rnd.IntN(6) {
		v[g.pick(fields)] = g.value(2)
	}
	if g.rnd.IntN(2) == 0 {
		v["type"] = g.pick([]string{"sh.keptn.event.dev.delivery.triggered", "sh.keptn.event.deploy.finished",
			"sh.keptn.event.approval.finished", "sh.keptn.event.dev.delivery.triggered.x", "x", ""})
		v["data"] = map[string]any{"project": g.pick(names), "stage": g.pick(names), "service": g.pick(names)}
	}
	b, _ := json.Marshal(v)
	return b
}

func (g *gen) value(depth int) any {
	switch g.rnd.IntN(7) {
	case 0:
		return g.pick(names)
	case 1:
		return g.rnd.Float64() * 1e12
	case 2:
		return g.rnd.IntN(2) == 0
	case 3:
		return nil
	case 4:
		if depth > 0 {
			return []any{g.value(depth - 1), g.value(depth - 1)}
		}
	case 5:
		if depth > 0 {
			return map[string]any{g.pick(names): g.value(depth - 1)}
		}
	}
	return base64.StdEncoding.EncodeToString([]byte(g.pick(names)))
}
