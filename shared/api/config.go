package api

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Config is the API's configuration, read from the environment by LoadConfig.
// Zero values mean the documented defaults, so Config{Tokens: ...} is a
// complete, safe configuration.
type Config struct {
	// Tokens are the accepted x-token values (comma-separated list). Several
	// tokens allow rotation. With no token, every authenticated request is refused.
	Tokens []string `envconfig:"API_TOKENS"`
	// SecretToken is Keptn's variable name for a single token; it is added to Tokens.
	SecretToken string `envconfig:"SECRET_TOKEN"`

	// SkipEventValidation turns off the POST /api/v1/event checks of the
	// Keptn event grammar (on by default; Keptn's EVENT_VALIDATION_ENABLED=false
	// is honoured too).
	SkipEventValidation bool `envconfig:"API_SKIP_EVENT_VALIDATION"`
	// MaxEventSizeKB caps POST /api/v1/event bodies (default 64; negative =
	// only MaxBodyBytes applies).
	MaxEventSizeKB int `envconfig:"MAX_EVENT_SIZE_KB"`
	// MaxBodyBytes caps every other request body (default 5 MiB, Keptn's gateway limit).
	MaxBodyBytes int64 `envconfig:"API_MAX_BODY_BYTES"`
	// MaxHistoryEventBytes caps events delivered to /internal/history (default 1 MiB).
	MaxHistoryEventBytes int64 `envconfig:"API_MAX_HISTORY_EVENT_BYTES"`

	// AuthRatePerSecond and AuthBurst size the per-client token bucket for
	// failed authentication attempts (defaults 1/s, burst 2, as Keptn).
	AuthRatePerSecond float64 `envconfig:"MAX_AUTH_REQUESTS_PER_SECOND"`
	AuthBurst         int     `envconfig:"MAX_AUTH_REQUESTS_BURST"`
	// TrustedProxies are the addresses (CIDRs or IPs, comma-separated) of the
	// proxies in front of the API that append to X-Forwarded-For: behind
	// Knative the ingress gateway, the activator and the queue-proxy (pod
	// addresses: the cluster's private ranges), and any cloud load balancer.
	// The limiter keys on the rightmost address that is not one of them;
	// see clientKey. Empty: ForwardedHops decides.
	TrustedProxies []string `envconfig:"API_TRUSTED_PROXIES"`
	// ForwardedHops is how many trusted proxies append to X-Forwarded-For in
	// front of the API, for a fixed chain without TrustedProxies. 0
	// (default) uses the connection's address; N takes the N-th address
	// from the right. Behind Knative the count varies (the activator is not
	// always in the path): use TrustedProxies there.
	ForwardedHops int `envconfig:"API_FORWARDED_HOPS"`

	// DisableHistoryIngest removes POST /internal/history (for deployments
	// where the history ingest runs elsewhere or the path cannot be kept private).
	DisableHistoryIngest bool `envconfig:"API_DISABLE_HISTORY_INGEST"`
	// HistoryTokens authenticate POST /internal/history (header
	// X-Slipway-History-Token or query parameter token; comma-separated for
	// rotation). Separate from the API tokens. None: every delivery is
	// refused with 401.
	HistoryTokens []string `envconfig:"API_HISTORY_TOKENS"`

	// ProjectNameMaxSize and ServiceNameMaxSize are Keptn's name limits (200, 43).
	ProjectNameMaxSize int `envconfig:"PROJECT_NAME_MAX_SIZE"`
	ServiceNameMaxSize int `envconfig:"SERVICE_NAME_MAX_SIZE"`

	// IntegrationTTL is how long a uniform integration stays registered after
	// it was last seen (Keptn's UNIFORM_INTEGRATION_TTL; default 1m, Keptn's
	// code default). go-sdk integrations ping every 5 s.
	IntegrationTTL time.Duration `envconfig:"UNIFORM_INTEGRATION_TTL"`
	// LogTTL is how long integration logs are kept (Keptn's LOG_TTL, default 120h).
	LogTTL time.Duration `envconfig:"LOG_TTL"`
	// MaxLogsPerRequest caps the entries of one POST /api/controlPlane/v1/log
	// (default 1000).
	MaxLogsPerRequest int `envconfig:"API_MAX_LOGS_PER_REQUEST"`
	// MaxLogMessageBytes caps one log message (default 64 KiB).
	MaxLogMessageBytes int `envconfig:"API_MAX_LOG_MESSAGE_BYTES"`

	// Namespace and KeptnVersion are reported by GET /api/v1/metadata
	// (defaults "keptn" and "1.4.5", the Keptn API version Slipway speaks).
	Namespace    string `envconfig:"POD_NAMESPACE"`
	KeptnVersion string `envconfig:"API_KEPTN_VERSION"`
}

// Defaults.
const (
	DefaultMaxEventSizeKB       = 64
	DefaultMaxBodyBytes         = 5 << 20
	DefaultMaxHistoryEventBytes = 1 << 20
	DefaultProjectNameMaxSize   = 200
	DefaultServiceNameMaxSize   = 43
	DefaultIntegrationTTL       = time.Minute
	DefaultLogTTL               = 120 * time.Hour
	DefaultMaxLogsPerRequest    = 1000
	DefaultMaxLogMessageBytes   = 64 << 10
	// APISource is the source of events the API creates on a client's behalf.
	APISource = "https://github.com/keptn/keptn/api"
)

// LoadConfig reads Config from the environment.
func LoadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		return Config{}, fmt.Errorf("api config: %w", err)
	}
	if v, ok := os.LookupEnv("EVENT_VALIDATION_ENABLED"); ok {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("api config: EVENT_VALIDATION_ENABLED: %w", err)
		}
		if !on {
			c.SkipEventValidation = true
		}
	}
	return c, nil
}

// Validate reports configuration that cannot work.
func (c Config) Validate() error {
	if len(c.tokens()) == 0 {
		return fmt.Errorf("api config: no API token (set API_TOKENS or SECRET_TOKEN)")
	}
	for _, e := range c.TrustedProxies {
		if strings.TrimSpace(e) == "" {
			continue
		}
		if _, err := parseProxy(e); err != nil {
			return fmt.Errorf("api config: %w", err)
		}
	}
	return nil
}

func (c Config) tokens() []string {
	var out []string
	for _, t := range append(append([]string(nil), c.Tokens...), c.SecretToken) {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// trustedProxies parses TrustedProxies; entries that parse as neither a
// CIDR nor an IP are dropped (Validate reports them).
func (c Config) trustedProxies() []netip.Prefix {
	var out []netip.Prefix
	for _, e := range c.TrustedProxies {
		if p, err := parseProxy(e); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func parseProxy(e string) (netip.Prefix, error) {
	e = strings.TrimSpace(e)
	if p, err := netip.ParsePrefix(e); err == nil {
		return p.Masked(), nil
	}
	ip, err := netip.ParseAddr(e)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("API_TRUSTED_PROXIES entry %q is neither a CIDR nor an IP", e)
	}
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

func (c Config) withDefaults() Config {
	if c.MaxEventSizeKB == 0 {
		c.MaxEventSizeKB = DefaultMaxEventSizeKB
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxHistoryEventBytes <= 0 {
		c.MaxHistoryEventBytes = DefaultMaxHistoryEventBytes
	}
	if c.AuthRatePerSecond <= 0 {
		c.AuthRatePerSecond = 1
	}
	if c.AuthBurst <= 0 {
		c.AuthBurst = 2
	}
	if c.ProjectNameMaxSize <= 0 {
		c.ProjectNameMaxSize = DefaultProjectNameMaxSize
	}
	if c.ServiceNameMaxSize <= 0 {
		c.ServiceNameMaxSize = DefaultServiceNameMaxSize
	}
	if c.IntegrationTTL <= 0 {
		c.IntegrationTTL = DefaultIntegrationTTL
	}
	if c.LogTTL <= 0 {
		c.LogTTL = DefaultLogTTL
	}
	if c.MaxLogsPerRequest <= 0 {
		c.MaxLogsPerRequest = DefaultMaxLogsPerRequest
	}
	if c.MaxLogMessageBytes <= 0 {
		c.MaxLogMessageBytes = DefaultMaxLogMessageBytes
	}
	if c.Namespace == "" {
		c.Namespace = "keptn"
	}
	if c.KeptnVersion == "" {
		c.KeptnVersion = "1.4.5"
	}
	return c
}

func (c Config) eventLimit() int64 {
	if c.MaxEventSizeKB < 0 {
		return c.MaxBodyBytes
	}
	return int64(c.MaxEventSizeKB) << 10
}

// trimmed drops blanks around and empty entries of a comma-separated list.
func trimmed(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
