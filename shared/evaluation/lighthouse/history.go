package lighthouse

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/executor"
)

// maxHistoryBody bounds a datastore answer.
const maxHistoryBody = 32 << 20

// HistoryClient reads events through Keptn's datastore API:
// GET {BaseURL}/api/mongodb-datastore/event/type/{type}?filter=&limit=&excludeInvalidated=true.
type HistoryClient struct {
	BaseURL string       // the API, e.g. http://api.slipway.svc
	Token   string       // sent as x-token when set
	HTTP    *http.Client // nil: 15 s timeout
}

// ByType implements History.
func (c *HistoryClient) ByType(ctx context.Context, eventType, filter string, limit int) ([]StoredEvent, error) {
	q := url.Values{"filter": {filter}, "limit": {strconv.Itoa(limit)}, "excludeInvalidated": {"true"}}
	u := strings.TrimRight(c.BaseURL, "/") + "/api/mongodb-datastore/event/type/" + url.PathEscape(eventType) + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("x-token", c.Token)
	}
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("datastore: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxHistoryBody))
	if err != nil {
		return nil, fmt.Errorf("datastore: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("datastore answered %d: %.200s", resp.StatusCode, body)
	}
	var out struct {
		Events []StoredEvent `json:"events"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("datastore: %w", err)
	}
	return out.Events, nil
}

// EnvConfig is the evaluator function's environment.
type EnvConfig struct {
	// Sink is where events go (the broker); Knative sets K_SINK.
	Sink string `envconfig:"K_SINK" required:"true"`
	// APIURL is Slipway's API (resource-service and mongodb-datastore paths).
	APIURL   string `envconfig:"KEPTN_API_URL" required:"true"`
	APIToken string `envconfig:"KEPTN_API_TOKEN"`
	Config
}

// FromEnv builds the evaluator from the environment.
func FromEnv(log *zap.Logger) (*Lighthouse, error) {
	var c EnvConfig
	if err := envconfig.Process("", &c); err != nil {
		return nil, fmt.Errorf("evaluator config: %w", err)
	}
	if c.Sink == "" || c.APIURL == "" {
		return nil, fmt.Errorf("evaluator config: K_SINK and KEPTN_API_URL must not be empty")
	}
	return NewHTTP(c, log), nil
}

// NewHTTP builds the evaluator on Slipway's HTTP API and broker.
func NewHTTP(c EnvConfig, log *zap.Logger) *Lighthouse {
	return New(c.Config, &executor.ResourceClient{BaseURL: c.APIURL, Token: c.APIToken},
		&HistoryClient{BaseURL: c.APIURL, Token: c.APIToken}, &executor.HTTPSender{URL: c.Sink}, log)
}
