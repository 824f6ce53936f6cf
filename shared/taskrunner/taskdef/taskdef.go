// Package taskdef parses Keptn Lifecycle Toolkit KeptnTaskDefinition
// manifests (lifecycle.keptn.sh v1, v1beta1 and v1alpha1-3) into plain Go
// structs, without any Kubernetes API types.
//
// Accepted shapes:
//   - v1, v1beta1, v1alpha3: exactly one of spec.deno, spec.python,
//     spec.container; v1beta1 and v1alpha3 also accept the deprecated
//     spec.function, which is the deno runtime.
//   - v1alpha1, v1alpha2: spec.function only (deno).
//
// spec.function under lifecycle.keptn.sh/v1 is rejected with an error that
// names the field. A deno/python runtime needs exactly one code source:
// inline.code, httpRef.url, functionRef.name or configMapRef.name.
// Defaults follow KLT: retries 10, timeout 5m, ttlSecondsAfterFinished 300.
package taskdef

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Group is the KeptnTaskDefinition API group.
const Group = "lifecycle.keptn.sh"

// Defaults from the KLT CRD.
const (
	DefaultRetries                 = 10
	DefaultTimeout                 = 5 * time.Minute
	DefaultTTLSecondsAfterFinished = 300
)

// Runtime is the kind of runner a definition uses.
type Runtime string

// Runtimes.
const (
	Deno      Runtime = "deno"
	Python    Runtime = "python"
	Container Runtime = "container"
)

// Source says where the code of a deno/python definition comes from.
type Source string

// Code sources.
const (
	SourceInline      Source = "inline"
	SourceHTTP        Source = "httpRef"
	SourceFunctionRef Source = "functionRef"
	SourceConfigMap   Source = "configMapRef"
)

// Definition is one validated KeptnTaskDefinition.
type Definition struct {
	APIVersion string
	Name       string
	Runtime    Runtime
	// Function is set for the deno and python runtimes.
	Function *Function
	// Container is set for the container runtime.
	Container *ContainerSpec
	// Retries is how many times a failed attempt is repeated (so at most
	// Retries+1 attempts).
	Retries int
	// Timeout bounds the whole definition, all attempts included.
	Timeout                 time.Duration
	TTLSecondsAfterFinished int
}

// Function is a deno or python runtime spec.
type Function struct {
	Source Source
	// Code is inline.code (SourceInline).
	Code string
	// URL is httpRef.url (SourceHTTP).
	URL string
	// Ref is functionRef.name or configMapRef.name.
	Ref string
	// Parameters is parameters.map (may be nil).
	Parameters map[string]string
	// Secret is secureParameters.secret ("" when unset).
	Secret string
	// CmdParameters is cmdParameters.
	CmdParameters string
}

// ContainerSpec is the subset of a Kubernetes container the runner uses.
type ContainerSpec struct {
	Name       string
	Image      string
	Command    []string
	Args       []string
	WorkingDir string
	Env        []EnvVar
	// Parameters and Secret come from spec.parameters.map and
	// spec.secureParameters.secret, a Slipway extension: KLT passes neither
	// to containers, Slipway passes them as DATA and SECURE_DATA.
	Parameters map[string]string
	Secret     string
}

// EnvVar is a literal environment variable of a container.
type EnvVar struct {
	Name  string
	Value string
}

// ConfigMap is a ConfigMap found next to definitions (same file); KLT reads
// the function code from its key "code".
type ConfigMap struct {
	Name string
	Data map[string]string
}

// File is everything Parse found in a (multi-document) YAML file.
type File struct {
	Definitions []Definition
	ConfigMaps  []ConfigMap
}

// Definition returns the definition called name.
func (f File) Definition(name string) (Definition, bool) {
	for _, d := range f.Definitions {
		if d.Name == name {
			return d, true
		}
	}
	return Definition{}, false
}

// ConfigMap returns the ConfigMap called name.
func (f File) ConfigMap(name string) (ConfigMap, bool) {
	for _, c := range f.ConfigMaps {
		if c.Name == name {
			return c, true
		}
	}
	return ConfigMap{}, false
}

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid KeptnTaskDefinition")

// raw mirrors the manifest. Unknown fields are ignored, like a Kubernetes
// client that does not know newer fields would.
type raw struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"` // ConfigMap
	Spec struct {
		Function  *rawRuntime   `yaml:"function"`
		Deno      *rawRuntime   `yaml:"deno"`
		Python    *rawRuntime   `yaml:"python"`
		Container *rawContainer `yaml:"container"`
		Retries   *int          `yaml:"retries"`
		Timeout   *string       `yaml:"timeout"`
		TTL       *int          `yaml:"ttlSecondsAfterFinished"`
		// Slipway extension for the container runtime (a Kubernetes
		// container has no place for them): DATA and SECURE_DATA inputs.
		Parameters *struct {
			Map map[string]string `yaml:"map"`
		} `yaml:"parameters"`
		SecureParameters *struct {
			Secret string `yaml:"secret"`
		} `yaml:"secureParameters"`
	} `yaml:"spec"`
}

type rawRuntime struct {
	Inline *struct {
		Code string `yaml:"code"`
	} `yaml:"inline"`
	HTTPRef *struct {
		URL string `yaml:"url"`
	} `yaml:"httpRef"`
	FunctionRef *struct {
		Name string `yaml:"name"`
	} `yaml:"functionRef"`
	ConfigMapRef *struct {
		Name string `yaml:"name"`
	} `yaml:"configMapRef"`
	Parameters *struct {
		Map map[string]string `yaml:"map"`
	} `yaml:"parameters"`
	SecureParameters *struct {
		Secret string `yaml:"secret"`
	} `yaml:"secureParameters"`
	CmdParameters string `yaml:"cmdParameters"`
}

type rawContainer struct {
	Name       string   `yaml:"name"`
	Image      string   `yaml:"image"`
	Command    []string `yaml:"command"`
	Args       []string `yaml:"args"`
	WorkingDir string   `yaml:"workingDir"`
	Env        []struct {
		Name      string     `yaml:"name"`
		Value     string     `yaml:"value"`
		ValueFrom *yaml.Node `yaml:"valueFrom"`
	} `yaml:"env"`
}

// Parse reads every document of a YAML stream. KeptnTaskDefinition documents
// are validated (the first invalid one fails the whole file), ConfigMap
// documents are collected, empty documents and other kinds are skipped.
func Parse(data []byte) (File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var r raw
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		if err != nil {
			return File{}, fmt.Errorf("document %d: %w", i+1, err)
		}
		group, version, _ := strings.Cut(r.APIVersion, "/")
		switch {
		case r.Kind == "ConfigMap" && r.APIVersion == "v1":
			if r.Metadata.Name == "" {
				return File{}, fmt.Errorf("document %d: ConfigMap without metadata.name", i+1)
			}
			f.ConfigMaps = append(f.ConfigMaps, ConfigMap{Name: r.Metadata.Name, Data: r.Data})
		case r.Kind == "KeptnTaskDefinition" && group == Group:
			d, err := convert(version, &r)
			if err != nil {
				return File{}, fmt.Errorf("document %d: %w", i+1, err)
			}
			f.Definitions = append(f.Definitions, d)
		}
	}
}

// ParseDefinition parses data and returns the definition called name.
func ParseDefinition(data []byte, name string) (Definition, File, error) {
	f, err := Parse(data)
	if err != nil {
		return Definition{}, File{}, err
	}
	d, ok := f.Definition(name)
	if !ok {
		return Definition{}, f, fmt.Errorf("no KeptnTaskDefinition named %q in file", name)
	}
	return d, f, nil
}

// dns1123 is a Kubernetes object name (DNS subdomain).
var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

func invalid(name, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrInvalid, name, fmt.Sprintf(format, args...))
}

func convert(version string, r *raw) (Definition, error) {
	name := r.Metadata.Name
	if !dns1123.MatchString(name) {
		return Definition{}, invalid(name, "metadata.name must be a DNS-1123 subdomain")
	}
	d := Definition{APIVersion: r.APIVersion, Name: name, Retries: DefaultRetries, Timeout: DefaultTimeout, TTLSecondsAfterFinished: DefaultTTLSecondsAfterFinished}
	switch version {
	case "v1", "v1beta1", "v1alpha3", "v1alpha2", "v1alpha1":
	default:
		return Definition{}, invalid(name, "unsupported apiVersion %q (want %s/v1, v1beta1 or v1alpha1-3)", r.APIVersion, Group)
	}
	s := &r.Spec
	if s.Function != nil && version == "v1" {
		return Definition{}, invalid(name, "spec.function is not part of %s/v1; use spec.deno", Group)
	}
	if version == "v1alpha1" || version == "v1alpha2" {
		for field, set := range map[string]bool{"spec.deno": s.Deno != nil, "spec.python": s.Python != nil, "spec.container": s.Container != nil} {
			if set {
				return Definition{}, invalid(name, "%s is not part of %s; use spec.function", field, r.APIVersion)
			}
		}
	}
	var set []string
	if s.Function != nil {
		set = append(set, "spec.function")
	}
	if s.Deno != nil {
		set = append(set, "spec.deno")
	}
	if s.Python != nil {
		set = append(set, "spec.python")
	}
	if s.Container != nil {
		set = append(set, "spec.container")
	}
	switch len(set) {
	case 0:
		return Definition{}, invalid(name, "exactly one of spec.deno, spec.python or spec.container is required, none is set")
	case 1:
	default:
		return Definition{}, invalid(name, "exactly one of spec.deno, spec.python or spec.container is allowed, got %s", strings.Join(set, " and "))
	}
	var err error
	switch {
	case s.Function != nil:
		d.Runtime = Deno
		d.Function, err = convertRuntime(name, "spec.function", s.Function)
	case s.Deno != nil:
		d.Runtime = Deno
		d.Function, err = convertRuntime(name, "spec.deno", s.Deno)
	case s.Python != nil:
		d.Runtime = Python
		d.Function, err = convertRuntime(name, "spec.python", s.Python)
	default:
		d.Runtime = Container
		d.Container, err = convertContainer(name, s.Container)
		if err == nil && s.Parameters != nil && len(s.Parameters.Map) > 0 {
			d.Container.Parameters = s.Parameters.Map
		}
		if err == nil && s.SecureParameters != nil {
			d.Container.Secret = s.SecureParameters.Secret
		}
	}
	if d.Runtime != Container && (s.Parameters != nil || s.SecureParameters != nil) {
		return Definition{}, invalid(name, "spec.parameters and spec.secureParameters are only for spec.container; put them under the runtime")
	}
	if err != nil {
		return Definition{}, err
	}
	if s.Retries != nil {
		if *s.Retries < 0 || *s.Retries > 1000 {
			return Definition{}, invalid(name, "spec.retries must be between 0 and 1000, got %d", *s.Retries)
		}
		d.Retries = *s.Retries
	}
	if s.Timeout != nil {
		t, err := time.ParseDuration(*s.Timeout)
		if err != nil {
			return Definition{}, invalid(name, "spec.timeout %q is not a duration like 30s or 5m", *s.Timeout)
		}
		if t <= 0 {
			return Definition{}, invalid(name, "spec.timeout must be positive, got %q", *s.Timeout)
		}
		d.Timeout = t
	}
	if s.TTL != nil {
		if *s.TTL < 0 {
			return Definition{}, invalid(name, "spec.ttlSecondsAfterFinished must not be negative")
		}
		d.TTLSecondsAfterFinished = *s.TTL
	}
	return d, nil
}

func convertRuntime(name, field string, r *rawRuntime) (*Function, error) {
	f := &Function{CmdParameters: r.CmdParameters}
	if r.Parameters != nil && len(r.Parameters.Map) > 0 {
		f.Parameters = r.Parameters.Map
	}
	if r.SecureParameters != nil {
		f.Secret = r.SecureParameters.Secret
	}
	var sources []string
	if r.Inline != nil {
		sources = append(sources, field+".inline")
		f.Source, f.Code = SourceInline, r.Inline.Code
		if strings.TrimSpace(f.Code) == "" {
			return nil, invalid(name, "%s.inline.code is empty", field)
		}
	}
	if r.HTTPRef != nil {
		sources = append(sources, field+".httpRef")
		f.Source, f.URL = SourceHTTP, r.HTTPRef.URL
		u, err := url.Parse(f.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, invalid(name, "%s.httpRef.url must be an http(s) URL, got %q", field, f.URL)
		}
	}
	if r.FunctionRef != nil {
		sources = append(sources, field+".functionRef")
		f.Source, f.Ref = SourceFunctionRef, r.FunctionRef.Name
		if !dns1123.MatchString(f.Ref) {
			return nil, invalid(name, "%s.functionRef.name must name a KeptnTaskDefinition, got %q", field, f.Ref)
		}
		if f.Ref == name {
			return nil, invalid(name, "%s.functionRef.name refers to the definition itself", field)
		}
	}
	if r.ConfigMapRef != nil {
		sources = append(sources, field+".configMapRef")
		f.Source, f.Ref = SourceConfigMap, r.ConfigMapRef.Name
		if !dns1123.MatchString(f.Ref) {
			return nil, invalid(name, "%s.configMapRef.name must name a ConfigMap, got %q", field, f.Ref)
		}
	}
	switch len(sources) {
	case 0:
		return nil, invalid(name, "%s needs exactly one of inline, httpRef, functionRef or configMapRef, none is set", field)
	case 1:
	default:
		return nil, invalid(name, "%s needs exactly one of inline, httpRef, functionRef or configMapRef, got %s", field, strings.Join(sources, " and "))
	}
	return f, nil
}

// envName is a portable environment variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

func convertContainer(name string, r *rawContainer) (*ContainerSpec, error) {
	if strings.TrimSpace(r.Image) == "" {
		return nil, invalid(name, "spec.container.image is required")
	}
	c := &ContainerSpec{Name: r.Name, Image: r.Image, Command: r.Command, Args: r.Args, WorkingDir: r.WorkingDir}
	for i, e := range r.Env {
		if !envName.MatchString(e.Name) {
			return nil, invalid(name, "spec.container.env[%d].name %q is not a valid variable name", i, e.Name)
		}
		if e.ValueFrom != nil {
			return nil, invalid(name, "spec.container.env[%d].valueFrom is not supported; use secureParameters for secrets", i)
		}
		c.Env = append(c.Env, EnvVar{Name: e.Name, Value: e.Value})
	}
	return c, nil
}
