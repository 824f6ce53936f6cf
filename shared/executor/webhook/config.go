package webhook

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// API versions of webhook.yaml.
const (
	V1Alpha1 = "webhookconfig.keptn.sh/v1alpha1"
	V1Beta1  = "webhookconfig.keptn.sh/v1beta1"
)

// URI is the resource holding the configuration.
const URI = "webhook/webhook.yaml"

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("invalid webhook config")

// Config is a parsed webhook.yaml.
type Config struct {
	APIVersion string
	Name       string
	Webhooks   []Webhook
}

// Webhook is one spec.webhooks entry.
type Webhook struct {
	Type           string
	SubscriptionID string
	SendStarted    bool // default true
	SendFinished   bool // default false
	EnvFrom        []EnvFrom
	Requests       []Request
}

// EnvFrom binds {{.env.<Name>}} to a secret key.
type EnvFrom struct {
	Name      string
	SecretRef SecretRef
}

// SecretRef names a secret key.
type SecretRef struct{ Name, Key string }

// Header is a request header (both parts are templates). Basic marks a
// curl -u "user:password" value, sent as HTTP basic authentication.
type Header struct {
	Key, Value string
	Basic      bool
}

// Request is a structured request; URL, header values and Payload are Go
// templates rendered over the event.
type Request struct {
	Method  string
	URL     string
	Headers []Header
	Payload string
	Timeout time.Duration // from curl --max-time (0: the executor's)
}

var methods = map[string]bool{"GET": true, "POST": true, "PUT": true, "HEAD": true, "PATCH": true, "DELETE": true}

type rawFile struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Webhooks []rawWebhook `yaml:"webhooks"`
	} `yaml:"spec"`
}

type rawWebhook struct {
	Type           string      `yaml:"type"`
	SubscriptionID string      `yaml:"subscriptionID"`
	SendFinished   *bool       `yaml:"sendFinished"`
	SendStarted    *bool       `yaml:"sendStarted"`
	EnvFrom        []rawEnv    `yaml:"envFrom"`
	Requests       []yaml.Node `yaml:"requests"`
}

type rawEnv struct {
	Name      string `yaml:"name"`
	SecretRef struct {
		Name string `yaml:"name"`
		Key  string `yaml:"key"`
	} `yaml:"secretRef"`
}

type rawRequest struct {
	URL     string `yaml:"url"`
	Method  string `yaml:"method"`
	Headers []struct {
		Key   string `yaml:"key"`
		Value string `yaml:"value"`
	} `yaml:"headers"`
	Payload string `yaml:"payload"`
	Options string `yaml:"options"`
}

// Parse parses and validates a webhook.yaml. v1alpha1 curl command strings
// are turned into structured requests (or refused with a clear error when
// they use curl features other than method, headers, data, URL, user and
// max-time); v1beta1 `options` may only hold harmless curl flags.
func Parse(content []byte) (Config, error) {
	var raw rawFile
	if err := yaml.Unmarshal(content, &raw); err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if raw.APIVersion != V1Alpha1 && raw.APIVersion != V1Beta1 {
		return Config{}, fmt.Errorf("%w: apiVersion %q, want %s or %s", ErrConfig, raw.APIVersion, V1Beta1, V1Alpha1)
	}
	if raw.Kind != "" && raw.Kind != "WebhookConfig" {
		return Config{}, fmt.Errorf("%w: kind %q, want WebhookConfig", ErrConfig, raw.Kind)
	}
	c := Config{APIVersion: raw.APIVersion, Name: raw.Metadata.Name}
	for i, rw := range raw.Spec.Webhooks {
		w := Webhook{Type: rw.Type, SubscriptionID: rw.SubscriptionID, SendStarted: true}
		if rw.SendStarted != nil {
			w.SendStarted = *rw.SendStarted
		}
		if rw.SendFinished != nil {
			w.SendFinished = *rw.SendFinished
		}
		where := fmt.Sprintf("webhook %d (%s)", i, rw.Type)
		if w.Type == "" {
			return Config{}, fmt.Errorf("%w: %s: type is required", ErrConfig, where)
		}
		names := map[string]bool{}
		for _, e := range rw.EnvFrom {
			if e.Name == "" || e.SecretRef.Name == "" || e.SecretRef.Key == "" {
				return Config{}, fmt.Errorf("%w: %s: envFrom needs name, secretRef.name and secretRef.key", ErrConfig, where)
			}
			if names[e.Name] {
				return Config{}, fmt.Errorf("%w: %s: envFrom %q twice", ErrConfig, where, e.Name)
			}
			names[e.Name] = true
			w.EnvFrom = append(w.EnvFrom, EnvFrom{Name: e.Name, SecretRef: SecretRef{Name: e.SecretRef.Name, Key: e.SecretRef.Key}})
		}
		if len(rw.Requests) == 0 {
			return Config{}, fmt.Errorf("%w: %s: requests must not be empty", ErrConfig, where)
		}
		for j, n := range rw.Requests {
			r, err := parseRequest(raw.APIVersion, &n)
			if err != nil {
				return Config{}, fmt.Errorf("%w: %s request %d: %v", ErrConfig, where, j, err)
			}
			w.Requests = append(w.Requests, r)
		}
		c.Webhooks = append(c.Webhooks, w)
	}
	return c, nil
}

func parseRequest(version string, n *yaml.Node) (Request, error) {
	if version == V1Alpha1 {
		var s string
		if err := n.Decode(&s); err != nil {
			return Request{}, fmt.Errorf("v1alpha1 requests are curl command strings: %v", err)
		}
		return ParseCurl(s)
	}
	var rr rawRequest
	if err := n.Decode(&rr); err != nil {
		return Request{}, fmt.Errorf("v1beta1 requests are objects {url, method, headers, payload}: %v", err)
	}
	r := Request{Method: strings.ToUpper(rr.Method), URL: strings.TrimSpace(rr.URL), Payload: rr.Payload}
	if r.URL == "" {
		return Request{}, errors.New("url is required")
	}
	if !methods[r.Method] {
		return Request{}, fmt.Errorf("method %q, want one of GET, POST, PUT, PATCH, DELETE, HEAD", rr.Method)
	}
	for _, h := range rr.Headers {
		if h.Key == "" || h.Value == "" {
			return Request{}, errors.New("headers need key and value")
		}
		r.Headers = append(r.Headers, Header{Key: h.Key, Value: h.Value})
	}
	if strings.TrimSpace(rr.Options) != "" {
		args, err := SplitArgs(rr.Options)
		if err != nil {
			return Request{}, fmt.Errorf("options: %v", err)
		}
		for i := 0; i < len(args); i++ {
			a := args[i]
			switch {
			case ignoredFlags[a] || allShortIgnored(a):
			case a == "-m" || a == "--max-time":
				if i+1 >= len(args) {
					return Request{}, fmt.Errorf("options: %s needs a value", a)
				}
				i++
				d, err := seconds(args[i])
				if err != nil {
					return Request{}, fmt.Errorf("options: %v", err)
				}
				r.Timeout = d
			default:
				return Request{}, fmt.Errorf("options: unsupported curl option %q (only %s and --max-time are accepted)", a, "-s/-S/-f/-L/-k/-v/-i/--compressed")
			}
		}
	}
	return r, nil
}

// Flags without a value that are accepted and ignored: output flags do not
// matter, redirects are always followed (every hop is checked) and TLS is
// always verified.
var ignoredFlags = map[string]bool{
	"-s": true, "--silent": true, "-S": true, "--show-error": true, "-f": true, "--fail": true,
	"--fail-with-body": true, "-L": true, "--location": true, "-k": true, "--insecure": true,
	"-i": true, "--include": true, "-v": true, "--verbose": true, "--compressed": true, "-g": true,
	"--globoff": true, "-N": true, "--no-buffer": true,
}

func allShortIgnored(a string) bool {
	if len(a) < 3 || a[0] != '-' || a[1] == '-' {
		return false
	}
	for _, c := range a[1:] {
		if !ignoredFlags["-"+string(c)] {
			return false
		}
	}
	return true
}

func seconds(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("max-time %q: want seconds", s)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// ParseCurl turns a v1alpha1 curl command into a Request. Accepted:
// -X/--request, -H/--header, -d/--data/--data-raw/--data-binary/--data-ascii
// (not @file), --json, --url or one positional URL, -u/--user,
// -m/--max-time, and the ignored flags above. Anything else (-o, -F, -T,
// -K, --proxy, --resolve, --connect-to, --unix-socket, ...) is refused.
func ParseCurl(cmd string) (Request, error) {
	args, err := SplitArgs(cmd)
	if err != nil {
		return Request{}, err
	}
	if len(args) == 0 || args[0] != "curl" {
		return Request{}, errors.New("v1alpha1 request must be a curl command")
	}
	var r Request
	var data []string
	var urls []string
	contentType := ""
	value := func(i *int, name string) (string, error) {
		if *i+1 >= len(args) {
			return "", fmt.Errorf("curl option %s needs a value", name)
		}
		*i++
		return args[*i], nil
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		name, inline, hasInline := a, "", false
		if strings.HasPrefix(a, "--") {
			name, inline, hasInline = strings.Cut(a, "=")
		} else if len(a) > 2 && a[0] == '-' && strings.ContainsRune("XHdumx", rune(a[1])) {
			name, inline, hasInline = a[:2], a[2:], true
		}
		get := func() (string, error) {
			if hasInline {
				return inline, nil
			}
			return value(&i, name)
		}
		switch {
		case ignoredFlags[a] || allShortIgnored(a):
		case name == "-X" || name == "--request":
			v, err := get()
			if err != nil {
				return Request{}, err
			}
			r.Method = strings.ToUpper(v)
		case name == "-H" || name == "--header":
			v, err := get()
			if err != nil {
				return Request{}, err
			}
			k, val, ok := strings.Cut(v, ":")
			if !ok || strings.TrimSpace(k) == "" {
				return Request{}, fmt.Errorf("header %q: want 'Name: value'", v)
			}
			k, val = strings.TrimSpace(k), strings.TrimSpace(val)
			if strings.EqualFold(k, "Content-Type") {
				contentType = val
			}
			r.Headers = append(r.Headers, Header{Key: k, Value: val})
		case name == "-d" || name == "--data" || name == "--data-binary" || name == "--data-ascii" || name == "--data-raw" || name == "--json":
			v, err := get()
			if err != nil {
				return Request{}, err
			}
			if name != "--data-raw" && strings.HasPrefix(v, "@") {
				return Request{}, fmt.Errorf("curl option %s with @file is not allowed", name)
			}
			if name == "--json" && contentType == "" {
				contentType = "application/json"
				r.Headers = append(r.Headers, Header{Key: "Content-Type", Value: "application/json"}, Header{Key: "Accept", Value: "application/json"})
			}
			data = append(data, v)
		case name == "--url":
			v, err := get()
			if err != nil {
				return Request{}, err
			}
			urls = append(urls, v)
		case name == "-u" || name == "--user":
			v, err := get()
			if err != nil {
				return Request{}, err
			}
			r.Headers = append(r.Headers, Header{Key: "Authorization", Value: v, Basic: true})
		case name == "-m" || name == "--max-time":
			v, err := get()
			if err != nil {
				return Request{}, err
			}
			if r.Timeout, err = seconds(v); err != nil {
				return Request{}, err
			}
		case strings.HasPrefix(a, "-") && a != "-":
			return Request{}, fmt.Errorf("unsupported curl option %q", a)
		default:
			urls = append(urls, a)
		}
	}
	if len(urls) != 1 {
		return Request{}, fmt.Errorf("want exactly one URL, got %d", len(urls))
	}
	r.URL = strings.TrimSpace(urls[0])
	if r.URL == "" {
		return Request{}, errors.New("empty URL")
	}
	if len(data) > 0 {
		r.Payload = strings.Join(data, "&")
		if contentType == "" {
			r.Headers = append(r.Headers, Header{Key: "Content-Type", Value: "application/x-www-form-urlencoded"})
		}
	}
	if r.Method == "" {
		r.Method = "GET"
		if len(data) > 0 {
			r.Method = "POST"
		}
	}
	if !methods[r.Method] {
		return Request{}, fmt.Errorf("method %q, want one of GET, POST, PUT, PATCH, DELETE, HEAD", r.Method)
	}
	return r, nil
}

// SplitArgs splits a command line like a POSIX shell would split words
// (single quotes, double quotes with \ escapes, backslash escapes, line
// continuations), except that a Go template action {{ ... }} is never split.
// No expansion of any kind happens.
func SplitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.HasPrefix(s[i:], "{{"):
			end := strings.Index(s[i:], "}}")
			if end < 0 {
				return nil, errors.New("unclosed {{")
			}
			cur.WriteString(s[i : i+end+2])
			i += end + 1
			inWord = true
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unclosed single quote")
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if strings.HasPrefix(s[j:], "{{") {
					end := strings.Index(s[j:], "}}")
					if end < 0 {
						return nil, errors.New("unclosed {{")
					}
					cur.WriteString(s[j : j+end+2])
					j += end + 1
					continue
				}
				if s[j] == '\\' && j+1 < len(s) && strings.IndexByte("\"\\$`\n", s[j+1]) >= 0 {
					j++
					if s[j] == '\n' {
						continue
					}
				}
				cur.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, errors.New("unclosed double quote")
			}
			i = j
			inWord = true
		case c == '\\':
			if i+1 < len(s) {
				i++
				if s[i] != '\n' {
					cur.WriteByte(s[i])
					inWord = true
				}
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}
