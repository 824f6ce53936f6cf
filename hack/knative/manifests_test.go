package knative

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/apis/feature"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"sigs.k8s.io/yaml"

	"github.com/slipwayhq/slipway/shared/broker/trigger"
)

// repoRoot is the checkout this module lives in (hack/knative).
const repoRoot = "../.."

// Namespace is where every Slipway object lives.
const Namespace = "slipway"

// Features are the Knative feature flags (config-features) the manifests rely
// on: delivery.timeout needs delivery-timeout (on by default since Knative
// 1.x, but Validate reads the flags from the context and treats an absent
// flag as disabled). The filters dialects were behind new-trigger-filters
// until Knative 1.15; knative.dev/eventing v0.49 has no such flag any more
// and always accepts them, so the key is kept for older clusters' sake.
var Features = feature.Flags{
	feature.DeliveryTimeout: feature.Enabled,
	"new-trigger-filters":   feature.Enabled,
}

// Doc is one YAML document of a manifest file.
type Doc struct {
	File       string // relative to the repository root
	Index      int    // 1-based document number in the file
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	JSON       []byte
}

func (d Doc) String() string {
	return fmt.Sprintf("%s#%d (%s %s)", d.File, d.Index, d.Kind, d.Name)
}

// Keptn resources in config/samples/ are not Kubernetes objects (the
// KeptnTaskDefinition is one, but of a CRD Slipway reads itself); they are
// checked with Slipway's own parsers in samples_test.go.
var keptnKinds = map[string]bool{
	"spec.keptn.sh/Shipyard":                       true,
	"spec.keptn.sh/Remediation":                    true,
	"webhookconfig.keptn.sh/WebhookConfig":         true,
	"lifecycle.keptn.sh/KeptnTaskDefinition":       true,
	"options.keptn.sh/KeptnTaskDefinition":         true,
	"lifecycle.keptn.sh/KeptnEvaluationDefinition": true,
}

// Keptn's plain configuration files in config/samples/ (the quality gate's
// slo.yaml, prometheus/sli.yaml, lighthouse-config.yaml) have no apiVersion
// or kind at all; samples_test.go parses them too.
func isKeptnPlainFile(rel string) bool {
	if !strings.HasPrefix(filepath.ToSlash(rel), "config/samples/") {
		return false
	}
	switch filepath.Base(rel) {
	case "slo.yaml", "sli.yaml", "lighthouse-config.yaml":
		return true
	}
	return false
}

func isKeptnKind(apiVersion, kind string) bool {
	group, _, _ := strings.Cut(apiVersion, "/")
	return keptnKinds[group+"/"+kind]
}

// LoadDocs reads every YAML document under the given repository-relative
// directories (recursively).
func LoadDocs(dirs ...string) ([]Doc, error) {
	var out []Doc
	for _, dir := range dirs {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ext := strings.ToLower(filepath.Ext(path))
			if d.IsDir() || (ext != ".yaml" && ext != ".yml") {
				return nil
			}
			docs, err := readDocs(path)
			if err != nil {
				return err
			}
			out = append(out, docs...)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func readDocs(path string) ([]Doc, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rel, _ := filepath.Rel(repoRoot, path)
	return parseDocs(rel, raw)
}

func readDocsFromString(name, s string) ([]Doc, error) { return parseDocs(name, []byte(s)) }

func parseDocs(rel string, raw []byte) ([]Doc, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	var out []Doc
	for i := 1; ; i++ {
		chunk, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", rel, i, err)
		}
		js, err := yaml.YAMLToJSON(chunk)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", rel, i, err)
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue // empty document (comments only)
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(js, &head); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", rel, i, err)
		}
		if head.APIVersion == "" && head.Kind == "" && isKeptnPlainFile(rel) {
			continue
		}
		out = append(out, Doc{File: rel, Index: i, APIVersion: head.APIVersion, Kind: head.Kind,
			Name: head.Metadata.Name, Namespace: head.Metadata.Namespace, JSON: js})
	}
}

// strict decodes a document, refusing fields the type does not have (a typo
// such as `filter:` for `filters:` must not pass silently).
func strict(d Doc, into any) error {
	dec := json.NewDecoder(bytes.NewReader(d.JSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("%s: %w", d, err)
	}
	return nil
}

// knativeObject is what Knative's webhooks run on create.
type knativeObject interface {
	apis.Defaultable
	apis.Validatable
}

// Manifests is every Kubernetes object in triggers/ and config/, decoded.
type Manifests struct {
	Triggers    []*eventingv1.Trigger
	Brokers     []*eventingv1.Broker
	PingSources []*sourcesv1.PingSource
	Services    []*servingv1.Service
	Accounts    []*corev1.ServiceAccount
	ConfigMaps  []*corev1.ConfigMap
	Secrets     []*corev1.Secret
	Roles       []*rbacv1.Role
	Bindings    []*rbacv1.RoleBinding
	// ClusterRoles are bound per namespace by RoleBindings only.
	ClusterRoles []*rbacv1.ClusterRole
	Namespaces   []*corev1.Namespace
	// Applied are the documents `kubectl apply -f config/ -f triggers/`
	// applies (top-level files only; kubectl does not recurse without -R).
	Applied map[string]bool
}

// Decode decodes the documents into Knative and Kubernetes types, runs
// SetDefaults and Validate (as Knative's webhook does on create) on the
// Knative ones and fails on any kind it does not know.
func Decode(ctx context.Context, docs []Doc) (*Manifests, error) {
	m := &Manifests{Applied: map[string]bool{}}
	var errs []error
	for _, d := range docs {
		if isKeptnKind(d.APIVersion, d.Kind) {
			continue
		}
		if d.Name == "" {
			errs = append(errs, fmt.Errorf("%s: metadata.name is empty", d))
			continue
		}
		top := filepath.Dir(d.File) == "config" || filepath.Dir(d.File) == "triggers"
		if top {
			m.Applied[d.Kind+"/"+d.Name] = true
		}
		var obj any
		switch d.APIVersion + "/" + d.Kind {
		case "eventing.knative.dev/v1/Trigger":
			o := &eventingv1.Trigger{}
			m.Triggers, obj = append(m.Triggers, o), o
		case "eventing.knative.dev/v1/Broker":
			o := &eventingv1.Broker{}
			m.Brokers, obj = append(m.Brokers, o), o
		case "sources.knative.dev/v1/PingSource":
			o := &sourcesv1.PingSource{}
			m.PingSources, obj = append(m.PingSources, o), o
		case "serving.knative.dev/v1/Service":
			o := &servingv1.Service{}
			m.Services, obj = append(m.Services, o), o
		case "v1/ServiceAccount":
			o := &corev1.ServiceAccount{}
			m.Accounts, obj = append(m.Accounts, o), o
		case "v1/ConfigMap":
			o := &corev1.ConfigMap{}
			m.ConfigMaps, obj = append(m.ConfigMaps, o), o
		case "v1/Secret":
			o := &corev1.Secret{}
			m.Secrets, obj = append(m.Secrets, o), o
		case "v1/Namespace":
			o := &corev1.Namespace{}
			m.Namespaces, obj = append(m.Namespaces, o), o
		case "rbac.authorization.k8s.io/v1/Role":
			o := &rbacv1.Role{}
			m.Roles, obj = append(m.Roles, o), o
		case "rbac.authorization.k8s.io/v1/RoleBinding":
			o := &rbacv1.RoleBinding{}
			m.Bindings, obj = append(m.Bindings, o), o
		case "rbac.authorization.k8s.io/v1/ClusterRole":
			o := &rbacv1.ClusterRole{}
			m.ClusterRoles, obj = append(m.ClusterRoles, o), o
		default:
			errs = append(errs, fmt.Errorf("%s: unknown kind %s %s (add it to Decode)", d, d.APIVersion, d.Kind))
			continue
		}
		if err := strict(d, obj); err != nil {
			errs = append(errs, err)
			continue
		}
		if k, ok := obj.(knativeObject); ok {
			k.SetDefaults(ctx)
			if ferr := k.Validate(apis.WithinCreate(ctx)); ferr != nil {
				errs = append(errs, fmt.Errorf("%s: Knative validation: %w", d, ferr))
			}
		}
	}
	return m, errors.Join(errs...)
}

// validationContext is the context Knative's webhooks validate in, with the
// feature flags the manifests need.
func validationContext() context.Context {
	return feature.ToContext(context.Background(), Features)
}

func loadManifests(t *testing.T) *Manifests {
	t.Helper()
	docs, err := LoadDocs("triggers", "config")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(validationContext(), docs)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Triggers) == 0 || len(m.Brokers) == 0 {
		t.Fatalf("found %d Triggers and %d Brokers under triggers/ and config/", len(m.Triggers), len(m.Brokers))
	}
	return m
}

func TestManifestsValidate(t *testing.T) {
	m := loadManifests(t)
	t.Logf("validated %d Triggers, %d Brokers, %d PingSources, %d Services", len(m.Triggers), len(m.Brokers),
		len(m.PingSources), len(m.Services))
}

// TestValidationCatchesBrokenTrigger proves the validation above bites: each
// mutation of a real Trigger must be rejected by Knative's webhook logic.
func TestValidationCatchesBrokenTrigger(t *testing.T) {
	docs, err := LoadDocs("triggers")
	if err != nil {
		t.Fatal(err)
	}
	var base Doc
	for _, d := range docs {
		if d.Kind == "Trigger" {
			base = d
			break
		}
	}
	mutations := map[string]func(map[string]any){
		"two dialects in one element": func(o map[string]any) {
			f := o["spec"].(map[string]any)["filters"].([]any)
			f[0].(map[string]any)["suffix"] = map[string]any{"type": ".x"}
		},
		"upper-case attribute": func(o map[string]any) {
			o["spec"].(map[string]any)["filters"] = []any{map[string]any{"exact": map[string]any{"Type": "x"}}}
		},
		"no subscriber": func(o map[string]any) { delete(o["spec"].(map[string]any), "subscriber") },
		"bad backoff policy": func(o map[string]any) {
			o["spec"].(map[string]any)["delivery"].(map[string]any)["backoffPolicy"] = "sometimes"
		},
		"bad timeout": func(o map[string]any) {
			o["spec"].(map[string]any)["delivery"].(map[string]any)["timeout"] = "25s"
		},
	}
	for name, mutate := range mutations {
		t.Run(name, func(t *testing.T) {
			var o map[string]any
			if err := json.Unmarshal(base.JSON, &o); err != nil {
				t.Fatal(err)
			}
			mutate(o)
			d := base
			d.JSON, _ = json.Marshal(o)
			if _, err := Decode(validationContext(), []Doc{d}); err == nil {
				t.Fatalf("mutated %s passed validation", base)
			}
		})
	}
	t.Run("without the delivery-timeout flag", func(t *testing.T) {
		if _, err := Decode(context.Background(), []Doc{base}); err == nil {
			t.Fatal("delivery.timeout accepted with no feature flags: the Features list is not needed?")
		}
	})
}

// functionNames are the Knative Services `kn func deploy` creates, from every
// func.yaml in the repository.
func functionNames(t *testing.T) map[string]string {
	t.Helper()
	fns, err := FindFunctions(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range fns {
		out[f.Spec.Name] = f.Dir
	}
	return out
}

// TestManifestsPolicy checks what Knative's validation does not: the
// references between the objects and Slipway's own rules.
func TestManifestsPolicy(t *testing.T) {
	m := loadManifests(t)
	fns := functionNames(t)
	services := map[string]bool{}
	for name := range fns {
		services[name] = true
	}
	for _, s := range m.Services {
		services[s.Name] = true
	}
	brokers := map[string]bool{}
	for _, b := range m.Brokers {
		brokers[b.Name] = true
	}
	subscribed := map[string]bool{}
	checkDest := func(what string, ref *duckRef) {
		t.Helper()
		if ref == nil {
			t.Errorf("%s: no ref", what)
			return
		}
		if ref.APIVersion != "serving.knative.dev/v1" || ref.Kind != "Service" {
			t.Errorf("%s: ref %s %s, want a serving.knative.dev/v1 Service", what, ref.APIVersion, ref.Kind)
		}
		if !services[ref.Name] {
			t.Errorf("%s: ref to Service %q, which neither a func.yaml nor config/ defines", what, ref.Name)
		}
		if ref.Namespace != "" && ref.Namespace != Namespace {
			t.Errorf("%s: ref namespace %q", what, ref.Namespace)
		}
	}
	for _, tr := range m.Triggers {
		what := "Trigger " + tr.Name
		if tr.Namespace != Namespace {
			t.Errorf("%s: namespace %q, want %q", what, tr.Namespace, Namespace)
		}
		if !brokers[tr.Spec.Broker] {
			t.Errorf("%s: broker %q is not defined in config/", what, tr.Spec.Broker)
		}
		if len(tr.Spec.Filters) == 0 {
			t.Errorf("%s: no spec.filters (the legacy filter.attributes cannot express prefix/suffix rules)", what)
		}
		checkDest(what+" subscriber", refOf(tr.Spec.Subscriber.Ref))
		if tr.Spec.Subscriber.Ref != nil {
			subscribed[tr.Spec.Subscriber.Ref.Name] = true
		}
		d := tr.Spec.Delivery
		if d == nil {
			t.Errorf("%s: no delivery block", what)
			continue
		}
		if d.Retry == nil || *d.Retry < 1 || d.BackoffPolicy == nil || d.BackoffDelay == nil {
			t.Errorf("%s: delivery needs retry ≥ 1, backoffPolicy and backoffDelay", what)
		}
		if d.DeadLetterSink == nil {
			t.Errorf("%s: no deadLetterSink", what)
		} else {
			checkDest(what+" deadLetterSink", refOf(d.DeadLetterSink.Ref))
		}
		if d.Timeout == nil {
			t.Errorf("%s: no delivery.timeout", what)
		} else if to, err := trigger.ParseDuration(*d.Timeout); err != nil || to <= 0 || to > FunctionRequestLimit {
			t.Errorf("%s: delivery.timeout %s must be within the functions' %s request limit", what, *d.Timeout, FunctionRequestLimit)
		}
	}
	for name := range fns {
		if !subscribed[name] {
			t.Errorf("function %s (func.yaml) has no Trigger: nothing would ever call it", name)
		}
	}
	for _, b := range m.Brokers {
		if b.Spec.Delivery == nil || b.Spec.Delivery.DeadLetterSink == nil {
			t.Errorf("Broker %s: needs a default delivery with a deadLetterSink", b.Name)
		} else {
			checkDest("Broker "+b.Name+" deadLetterSink", refOf(b.Spec.Delivery.DeadLetterSink.Ref))
		}
	}
	for _, p := range m.PingSources {
		ref := p.Spec.Sink.Ref
		if ref == nil || ref.Kind != "Broker" || !brokers[ref.Name] {
			t.Errorf("PingSource %s: sink must be a Broker defined in config/", p.Name)
		}
	}
	// Every object Slipway applies lives in its namespace (the samples set
	// up a user's project; the deployer's ClusterRole is cluster-scoped).
	for _, d := range mustDocs(t) {
		if d.Kind == "Namespace" || d.Kind == "ClusterRole" || isKeptnKind(d.APIVersion, d.Kind) ||
			strings.HasPrefix(filepath.ToSlash(d.File), "config/samples/") {
			continue
		}
		if d.Namespace != Namespace {
			t.Errorf("%s: namespace %q, want %q", d, d.Namespace, Namespace)
		}
	}
	// Secrets are examples and must never be applied by `kubectl apply -f config/`.
	for _, s := range m.Secrets {
		if m.Applied["Secret/"+s.Name] {
			t.Errorf("Secret %s is in a top-level config/ file: kubectl apply -f config/ would apply its placeholder values", s.Name)
		}
	}
	checkRBAC(t, m)
}

// FunctionRequestLimit is func-go's HTTP server WriteTimeout: a request that
// takes longer is cut off whatever the Trigger's timeout says.
const FunctionRequestLimit = 30 * time.Second

type duckRef struct{ APIVersion, Kind, Name, Namespace string }

func refOf(r *duckv1.KReference) *duckRef {
	if r == nil {
		return nil
	}
	return &duckRef{APIVersion: r.APIVersion, Kind: r.Kind, Name: r.Name, Namespace: r.Namespace}
}

func mustDocs(t *testing.T) []Doc {
	t.Helper()
	docs, err := LoadDocs("triggers", "config")
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// checkRBAC: the task runner may manage Jobs in its namespace and the
// knative-deployer Knative Services in the namespaces that bind its
// ClusterRole; no Role grants anything on Secrets or uses wildcards, and only
// those two accounts are bound to anything, the deployer only by
// RoleBindings (never cluster-wide).
func checkRBAC(t *testing.T, m *Manifests) {
	t.Helper()
	const runnerSA = "slipway-task-runner"
	const deployerSA, deployerRole = "slipway-knative-deployer", "slipway-knative-deployer"
	roles := map[string]rbacv1.Role{}
	for _, r := range m.Roles {
		roles[r.Name] = *r
	}
	for _, r := range m.ClusterRoles {
		if r.Name != deployerRole {
			t.Errorf("ClusterRole %s: only %s may be cluster-scoped", r.Name, deployerRole)
			continue
		}
		var got []string
		for _, rule := range r.Rules {
			for _, g := range rule.APIGroups {
				for _, res := range rule.Resources {
					got = append(got, fmt.Sprintf("%s/%s:%v", g, res, rule.Verbs))
				}
			}
		}
		// Exactly what shared/deployer/knative calls.
		want := []string{"serving.knative.dev/services:[get create update watch]", "serving.knative.dev/revisions:[get]"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("ClusterRole %s grants %v, want %v", r.Name, got, want)
		}
	}
	for _, r := range m.Roles {
		for _, rule := range r.Rules {
			for _, list := range [][]string{rule.Resources, rule.Verbs, rule.APIGroups} {
				for _, v := range list {
					if v == "*" {
						t.Errorf("Role %s: wildcard in %v", r.Name, rule)
					}
				}
			}
			for _, res := range rule.Resources {
				if res == "secrets" {
					t.Errorf("Role %s grants access to secrets", r.Name)
				}
			}
		}
	}
	var runnerVerbs []string
	for _, b := range m.Bindings {
		if b.RoleRef.Kind == "ClusterRole" && b.RoleRef.Name == deployerRole {
			for _, s := range b.Subjects {
				if s.Kind != "ServiceAccount" || s.Name != deployerSA || s.Namespace != Namespace {
					t.Errorf("RoleBinding %s/%s: subject %s %s/%s; only %s may use %s", b.Namespace, b.Name, s.Kind,
						s.Namespace, s.Name, deployerSA, deployerRole)
				}
			}
			continue
		}
		if b.RoleRef.Kind != "Role" {
			t.Errorf("RoleBinding %s: binds a %s; only namespaced Roles (and %s) are allowed", b.Name, b.RoleRef.Kind, deployerRole)
		}
		for _, s := range b.Subjects {
			if s.Kind != "ServiceAccount" || s.Name != runnerSA || s.Namespace != Namespace {
				t.Errorf("RoleBinding %s: subject %s %s/%s; only %s may use the Kubernetes API", b.Name, s.Kind,
					s.Namespace, s.Name, runnerSA)
			}
		}
		for _, rule := range roles[b.RoleRef.Name].Rules {
			for _, res := range rule.Resources {
				if res == "jobs" && len(rule.APIGroups) == 1 && rule.APIGroups[0] == "batch" {
					runnerVerbs = append(runnerVerbs, rule.Verbs...)
				}
			}
		}
	}
	sort.Strings(runnerVerbs)
	if want := []string{"create", "delete", "get", "watch"}; fmt.Sprint(runnerVerbs) != fmt.Sprint(want) {
		t.Errorf("task runner's verbs on batch jobs = %v, want %v", runnerVerbs, want)
	}
	for _, a := range m.Accounts {
		mounted := a.AutomountServiceAccountToken == nil || *a.AutomountServiceAccountToken
		if mounted != (a.Name == runnerSA || a.Name == deployerSA) {
			t.Errorf("ServiceAccount %s: automountServiceAccountToken=%v; only %s and %s need a token", a.Name, mounted, runnerSA, deployerSA)
		}
	}
}
