package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/slipwayhq/slipway/shared/api/projectdoc"
	"github.com/slipwayhq/slipway/shared/store"
)

// level is the project, stage or service a resource belongs to.
type level struct{ project, stage, service string }

func levelOf(r *http.Request) level {
	return level{r.PathValue("project"), r.PathValue("stage"), r.PathValue("service")}
}

// check answers 404 when the project, stage or service does not exist.
func (a *api) checkLevel(ctx context.Context, l level) error {
	_, doc, err := a.loadProject(ctx, l.project)
	if err != nil {
		return err
	}
	if l.stage == "" {
		return nil
	}
	st, err := a.stageOf(doc, l.stage)
	if err != nil {
		return err
	}
	if l.service != "" && st.Service(l.service) == nil {
		return notFound("Service not found: %s", l.service)
	}
	return nil
}

func (l level) isShipyard(uri string) bool {
	return l.stage == "" && l.service == "" && uri == projectdoc.ShipyardURI
}

// maxURILen bounds resource URIs.
const maxURILen = 1024

// cleanURI validates a resource URI (already unescaped once) and drops a
// leading slash. It refuses anything that could climb out of the level:
// "." and ".." segments, empty segments, backslashes and control characters.
func cleanURI(uri string) (string, error) {
	u := strings.TrimPrefix(uri, "/")
	if u == "" {
		return "", errors.New("resourceURI must not be empty")
	}
	if len(u) > maxURILen {
		return "", fmt.Errorf("resourceURI longer than %d bytes", maxURILen)
	}
	for _, c := range u {
		if c < ' ' || c == 0x7f || c == '\\' {
			return "", errors.New("resourceURI must not contain control characters or backslashes")
		}
	}
	for _, seg := range strings.Split(u, "/") {
		switch seg {
		case "":
			return "", errors.New("resourceURI must not contain empty segments")
		case ".", "..":
			return "", errors.New("resourceURI must not contain '.' or '..' segments")
		}
	}
	return u, nil
}

// version stands for Keptn's git commit id: Slipway keeps no history, so it
// is a digest of the content (40 hex digits, like a commit id).
func version(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		_, _ = h.Write(p)
		_, _ = h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:40]
}

type resourceIn struct {
	ResourceURI     string `json:"resourceURI"`
	ResourceContent string `json:"resourceContent"`
}

type decodedResource struct {
	uri     string
	content []byte
}

func decodeResource(uri, content string) (decodedResource, error) {
	u, err := cleanURI(uri)
	if err != nil {
		return decodedResource{}, badRequest("%v", err)
	}
	b, err := base64.StdEncoding.DecodeString(content)
	if err != nil {
		return decodedResource{}, badRequest("resourceContent of %s must be base64 encoded", u)
	}
	if len(b) > store.MaxBody {
		return decodedResource{}, errorf(http.StatusRequestEntityTooLarge, "resource %s is larger than %d bytes", u, store.MaxBody)
	}
	return decodedResource{uri: u, content: b}, nil
}

// writeResources stores resources; a project-level shipyard.yaml goes
// through the same validation as a project update.
func (a *api) writeResources(ctx context.Context, l level, rs []decodedResource) (string, error) {
	var parts [][]byte
	for _, x := range rs {
		if l.isShipyard(x.uri) {
			if err := a.changeProject(ctx, nil, l.project, x.content, nil); err != nil {
				return "", err
			}
		} else if err := a.deps.Store.PutResource(ctx, &store.Resource{Project: l.project, Stage: l.stage,
			Service: l.service, URI: x.uri, Content: x.content, UpdatedAt: a.deps.Clock().UTC()}); err != nil {
			return "", fmt.Errorf("store resource %s: %w", x.uri, err)
		}
		parts = append(parts, []byte(x.uri), x.content)
	}
	return version(parts...), nil
}

func (a *api) putResources(w http.ResponseWriter, r *http.Request, status int) error {
	var req struct {
		Resources []resourceIn `json:"resources"`
	}
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req, false); err != nil {
		return err
	}
	if len(req.Resources) == 0 {
		return badRequest("resources must not be empty")
	}
	var rs []decodedResource
	for _, x := range req.Resources {
		d, err := decodeResource(x.ResourceURI, x.ResourceContent)
		if err != nil {
			return err
		}
		rs = append(rs, d)
	}
	l := levelOf(r)
	if err := a.checkLevel(r.Context(), l); err != nil {
		return err
	}
	v, err := a.writeResources(r.Context(), l, rs)
	if err != nil {
		return err
	}
	writeJSON(w, status, map[string]string{"commitID": v})
	return nil
}

func (a *api) createResources(w http.ResponseWriter, r *http.Request) error {
	return a.putResources(w, r, http.StatusCreated)
}

func (a *api) updateResources(w http.ResponseWriter, r *http.Request) error {
	return a.putResources(w, r, http.StatusOK)
}

func (a *api) updateResource(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		ResourceContent string `json:"resourceContent"`
	}
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req, false); err != nil {
		return err
	}
	d, err := decodeResource(r.PathValue("resourceURI"), req.ResourceContent)
	if err != nil {
		return err
	}
	l := levelOf(r)
	if err := a.checkLevel(r.Context(), l); err != nil {
		return err
	}
	v, err := a.writeResources(r.Context(), l, []decodedResource{d})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"commitID": v})
	return nil
}

type resourceOut struct {
	ResourceURI     string            `json:"resourceURI"`
	ResourceContent string            `json:"resourceContent,omitempty"`
	Metadata        map[string]string `json:"metadata"`
}

func (a *api) getResource(w http.ResponseWriter, r *http.Request) error {
	uri, err := cleanURI(r.PathValue("resourceURI"))
	if err != nil {
		return badRequest("%v", err)
	}
	l := levelOf(r)
	if err := a.checkLevel(r.Context(), l); err != nil {
		return err
	}
	res, err := a.deps.Store.GetResource(r.Context(), l.project, l.stage, l.service, uri)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("Resource not found: %s", uri)
	}
	if err != nil {
		return fmt.Errorf("get resource %s: %w", uri, err)
	}
	// gitCommitID/commitID query parameters are accepted and ignored:
	// Slipway keeps only the current version of a resource.
	writeJSON(w, http.StatusOK, resourceOut{ResourceURI: uri,
		ResourceContent: base64.StdEncoding.EncodeToString(res.Content),
		Metadata:        map[string]string{"version": version([]byte(uri), res.Content)}})
	return nil
}

func (a *api) deleteResource(w http.ResponseWriter, r *http.Request) error {
	uri, err := cleanURI(r.PathValue("resourceURI"))
	if err != nil {
		return badRequest("%v", err)
	}
	l := levelOf(r)
	if l.isShipyard(uri) {
		return badRequest("%s cannot be deleted; update it or delete the project", uri)
	}
	if err := a.checkLevel(r.Context(), l); err != nil {
		return err
	}
	err = a.deps.Store.DeleteResource(r.Context(), l.project, l.stage, l.service, uri)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("Resource not found: %s", uri)
	}
	if err != nil {
		return fmt.Errorf("delete resource %s: %w", uri, err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"commitID": version([]byte(uri))})
	return nil
}

func (a *api) listResources(w http.ResponseWriter, r *http.Request) error {
	size, err := pageSizeParam(r, "pageSize", defaultPageSize, 0)
	if err != nil {
		return err
	}
	off, err := offsetParam(r, "nextPageKey")
	if err != nil {
		return err
	}
	l := levelOf(r)
	if err := a.checkLevel(r.Context(), l); err != nil {
		return err
	}
	var all []*store.Resource
	page := store.Page{Size: maxPageSize}
	for len(all) < maxScan {
		rs, next, err := a.deps.Store.ListResources(r.Context(), l.project, l.stage, l.service, page)
		if err != nil {
			return fmt.Errorf("list resources: %w", err)
		}
		all = append(all, rs...)
		if next == "" {
			break
		}
		page.Token = next
	}
	lo, hi, next := paginate(len(all), off, size)
	out := []resourceOut{}
	for _, x := range all[lo:hi] {
		out = append(out, resourceOut{ResourceURI: x.URI, Metadata: map[string]string{"version": version([]byte(x.URI), x.Content)}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"resources": out, "nextPageKey": next, "pageSize": len(out), "totalCount": len(all)})
	return nil
}
