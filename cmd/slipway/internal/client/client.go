// Package client is the CLI's HTTP client of Slipway's Keptn-compatible REST
// API. It knows paths and the error body, not the commands.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxAnswer bounds what the CLI reads from one answer.
const maxAnswer = 32 << 20

// Client calls the API under Endpoint (…/api, as Keptn's CLI stores it).
type Client struct {
	Endpoint string // e.g. http://127.0.0.1:8080/api
	Token    string
	HTTP     *http.Client
}

// New returns a client with a 30 s request timeout.
func New(endpoint, token string) *Client {
	return &Client{Endpoint: strings.TrimRight(endpoint, "/"), Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// NormalizeEndpoint turns what a user types into the API base URL the way
// Keptn's CLI did (cli/cmd/auth.go, authenticator.go): http:// unless a
// scheme is given, and /api when the path is empty.
func NormalizeEndpoint(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("endpoint must not be empty")
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("endpoint %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("endpoint %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("endpoint %q has no host", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if u.Path == "" {
		u.Path = "/api"
	}
	u.RawPath = ""
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// APIError is an answer outside 2xx, with the message of Keptn's error body.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Message }

// Do sends method path?query with body (JSON-encoded unless it is []byte)
// and decodes a 2xx JSON answer into out (if non-nil). raw receives the
// answer's bytes when out is a *json.RawMessage.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	u := c.Endpoint + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				return fmt.Errorf("encode request: %w", err)
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if c.Token != "" {
		req.Header.Set("x-token", c.Token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", c.Endpoint, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return decodeError(res.StatusCode, raw)
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if rm, ok := out.(*json.RawMessage); ok {
		*rm = append((*rm)[:0], raw...)
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// decodeError reads Keptn's {"code","message"} body; anything else becomes
// the status text, so an HTML page from a proxy is not dumped on the user.
func decodeError(status int, raw []byte) error {
	var body struct {
		Code    int     `json:"code"`
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(raw, &body); err == nil && body.Message != nil && *body.Message != "" {
		return &APIError{Status: status, Message: *body.Message}
	}
	msg := http.StatusText(status)
	if msg == "" {
		msg = "unexpected answer"
	}
	return &APIError{Status: status, Message: fmt.Sprintf("%d %s", status, msg)}
}

// Event is the part of a Keptn CloudEvent the CLI reads.
type Event struct {
	ID             string          `json:"id"`
	Type           string          `json:"type"`
	Source         string          `json:"source"`
	Time           time.Time       `json:"time"`
	Shkeptncontext string          `json:"shkeptncontext"`
	Triggeredid    string          `json:"triggeredid,omitempty"`
	Data           json.RawMessage `json:"data"`
}

// EventData is the common Keptn data block.
type EventData struct {
	Project string            `json:"project"`
	Stage   string            `json:"stage"`
	Service string            `json:"service"`
	Labels  map[string]string `json:"labels,omitempty"`
	Result  string            `json:"result,omitempty"`
	Status  string            `json:"status,omitempty"`
	Message string            `json:"message,omitempty"`
}

// DataOf decodes an event's common data block (zero on a malformed block).
func DataOf(e Event) EventData {
	var d EventData
	_ = json.Unmarshal(e.Data, &d)
	return d
}

// SendEvent posts a CloudEvent to /v1/event and returns its keptnContext.
func (c *Client) SendEvent(ctx context.Context, ev any) (string, error) {
	var out struct {
		KeptnContext string `json:"keptnContext"`
	}
	if err := c.Do(ctx, http.MethodPost, "/v1/event", nil, ev, &out); err != nil {
		return "", err
	}
	return out.KeptnContext, nil
}

// OpenTriggered lists open .triggered events of a type (full type name).
func (c *Client) OpenTriggered(ctx context.Context, eventType, project, stage, service, eventID string) ([]Event, error) {
	q := url.Values{"pageSize": {"100"}}
	for k, v := range map[string]string{"project": project, "stage": stage, "service": service, "eventID": eventID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out struct {
		Events []Event `json:"events"`
	}
	if err := c.Do(ctx, http.MethodGet, "/controlPlane/v1/event/triggered/"+url.PathEscape(eventType), q, nil, &out); err != nil {
		return nil, err
	}
	return out.Events, nil
}

// ContextProject finds the project of a keptnContext from the event history.
func (c *Client) ContextProject(ctx context.Context, keptnContext string) (string, error) {
	var out struct {
		Events []Event `json:"events"`
	}
	q := url.Values{"keptnContext": {keptnContext}, "pageSize": {"1"}}
	if err := c.Do(ctx, http.MethodGet, "/mongodb-datastore/event", q, nil, &out); err != nil {
		return "", err
	}
	if len(out.Events) == 0 {
		return "", fmt.Errorf("no events for keptn-context %s (pass --project)", keptnContext)
	}
	if p := DataOf(out.Events[0]).Project; p != "" {
		return p, nil
	}
	return "", fmt.Errorf("events of keptn-context %s name no project (pass --project)", keptnContext)
}
