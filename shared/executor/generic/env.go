package generic

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/executor/httpfile"
	"github.com/slipwayhq/slipway/shared/keptn"
)

// Limits on the environment built from an event (Linux caps one variable
// at 128 KiB and the whole environment plus arguments at about 2 MiB).
const (
	maxEnvValue = 32 << 10
	maxEnvVars  = 4000
)

// EnvInput is what a script's environment is built from.
type EnvInput struct {
	Event   event.Event
	Data    map[string]any    // decoded event data
	Allowed map[string]string // executor variables exposed as ENV_<NAME>
	Base    []string          // proc.BaseEnv plus the executor's own names; always win
}

// BuildEnv returns a script's environment: the legacy generic-executor
// names (TIMESTRING, CONTEXT, PROJECT, ..., LABEL_*, VALUE_*), the event's
// attributes as CE_*, the whole data block flattened as DATA_*, the
// allow-listed executor variables as ENV_<NAME>, and Base. Names are
// uppercased with every character outside [A-Z0-9_] replaced by '_';
// numbers and booleans are stringified, nulls skipped. Event-derived names
// always carry a prefix or a fixed legacy name, and reserved names (PATH,
// HOME, LD_*, BASH_ENV, PYTHON*, NODE_OPTIONS, DENO_*, ...) are dropped
// from everything but Base, so event data can never set them. The
// executor's own environment is never read here.
func BuildEnv(in EnvInput) []string {
	vars := map[string]string{}
	set := func(name, value string) {
		name = SanitizeName(name)
		if name == "" || Reserved(name) {
			return
		}
		if _, exists := vars[name]; !exists && len(vars) >= maxEnvVars {
			return
		}
		vars[name] = cleanValue(value)
	}
	// Lowest precedence first; later sets win on collisions.
	flatten("DATA", in.Data, set)

	d := in.Data
	for k, v := range asMap(d["labels"]) {
		set("LABEL_"+k, httpfile.Stringify(v))
	}
	action := asMap(d["action"])
	switch v := getCI(action, "value").(type) {
	case map[string]any:
		keys := sortedKeys(v)
		for _, k := range keys {
			set("VALUE_"+k, httpfile.Stringify(v[k]))
		}
	case string:
		set("VALUE", v)
	}

	t := in.Event.Time()
	if t.IsZero() {
		t = time.Now()
	}
	set("TIMESTRING", t.String())
	set("TIMEUTCSTRING", t.UTC().String())
	set("TIMEUTCMS", strconv.FormatInt(t.UnixMilli(), 10))
	set("CONTEXT", keptn.Context(in.Event))
	set("EVENT", in.Event.Type())
	set("SOURCE", in.Event.Source())
	set("PROJECT", str(d["project"]))
	set("STAGE", str(d["stage"]))
	set("SERVICE", str(d["service"]))
	dep := asMap(d["deployment"])
	set("DEPLOYMENT", str(getCI(dep, "deploymentstrategy")))
	set("TESTSTRATEGY", str(getCI(asMap(d["test"]), "teststrategy")))
	set("DEPLOYMENTURILOCAL", first(dep, "deploymentURIsLocal", "deploymentURILocal"))
	set("DEPLOYMENTURIPUBLIC", first(dep, "deploymentURIsPublic", "deploymentURIPublic"))
	set("ACTION", str(getCI(action, "action")))
	problem := asMap(d["problem"])
	set("PROBLEMTITLE", str(getCI(problem, "problemTitle")))
	set("PID", str(getCI(problem, "PID")))
	set("PROBLEMID", str(getCI(problem, "problemID")))
	set("PROBLEMSTATE", str(getCI(problem, "state")))
	purl := str(getCI(problem, "problemURL"))
	if purl == "" {
		purl = str(getCI(asMap(d["labels"]), "Problem URL"))
	}
	set("PROBLEMURL", purl)

	set("CE_ID", in.Event.ID())
	set("CE_SOURCE", in.Event.Source())
	set("CE_TYPE", in.Event.Type())
	set("CE_TIME", t.UTC().Format(time.RFC3339Nano))
	for k, v := range in.Event.Extensions() {
		set("CE_"+k, httpfile.Stringify(v))
	}

	for _, k := range sortedKeys(in.Allowed) {
		set("ENV_"+k, in.Allowed[k])
	}

	base := map[string]bool{}
	for _, kv := range in.Base {
		name, _, _ := strings.Cut(kv, "=")
		base[name] = true
	}
	out := make([]string, 0, len(vars)+len(in.Base))
	for _, k := range sortedKeys(vars) {
		if !base[k] {
			out = append(out, k+"="+vars[k])
		}
	}
	return append(out, in.Base...)
}

func flatten(prefix string, v any, set func(string, string)) {
	switch t := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(t) {
			flatten(prefix+"_"+k, t[k], set)
		}
	case []any:
		for i, x := range t {
			flatten(prefix+"_"+strconv.Itoa(i), x, set)
		}
	case nil:
	default:
		set(prefix, httpfile.Stringify(t))
	}
}

// SanitizeName uppercases s and replaces every character outside
// [A-Z0-9_] with '_'; a leading digit gets a '_' prefix.
func SanitizeName(s string) string {
	b := []byte(strings.ToUpper(s))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 0 && b[0] >= '0' && b[0] <= '9' {
		return "_" + string(b)
	}
	return string(b)
}

var reservedExact = map[string]bool{
	"PATH": true, "HOME": true, "LANG": true, "LANGUAGE": true, "TMPDIR": true, "SHELL": true, "USER": true,
	"IFS": true, "ENV": true, "BASH_ENV": true, "CDPATH": true, "GLOBIGNORE": true, "SHELLOPTS": true,
	"BASHOPTS": true, "PS4": true, "PROMPT_COMMAND": true, "NODE_OPTIONS": true, "NODE_PATH": true,
	"PERL5OPT": true, "PERL5LIB": true, "RUBYOPT": true, "GCONV_PATH": true, "HOSTALIASES": true,
	"RESULT_FILE": true, "EVENT_FILE": true,
}

var reservedPrefixes = []string{"LD_", "BASH_FUNC_", "PYTHON", "DENO_", "LC_", "GIT_", "SSL_", "CURL_", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"}

// Reserved reports whether name may only be set by the executor itself.
func Reserved(name string) bool {
	if reservedExact[name] {
		return true
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func cleanValue(v string) string {
	v = strings.ReplaceAll(v, "\x00", "")
	if len(v) > maxEnvValue {
		v = v[:maxEnvValue]
	}
	return v
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return httpfile.Stringify(v)
}

// getCI returns m[key], matching the key case-insensitively if there is no
// exact match (old payloads used ProblemTitle, Action, ...).
func getCI(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for _, k := range sortedKeys(m) {
		if strings.EqualFold(k, key) {
			return m[k]
		}
	}
	return nil
}

// first returns the first element of an array field, or a string field.
func first(m map[string]any, keys ...string) string {
	for _, k := range keys {
		switch v := getCI(m, k).(type) {
		case []any:
			if len(v) > 0 {
				return str(v[0])
			}
		case string:
			return v
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
