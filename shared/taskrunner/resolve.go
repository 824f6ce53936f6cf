package taskrunner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/taskrunner/taskdef"
)

// Resource layout (all looked up service → stage → project):
//
//	task-definitions/<name>.yaml            a KeptnTaskDefinition called <name>
//	                                        (the file may hold more documents:
//	                                        parents and ConfigMaps it uses)
//	task-definitions/configmaps/<name>.yaml a ConfigMap manifest; key "code"
const (
	DefinitionsDir = "task-definitions/"
	ConfigMapsDir  = "task-definitions/configmaps/"
	// MaxRefDepth bounds a functionRef chain.
	MaxRefDepth = 8
)

// DefinitionURI is the resource holding the definition called name.
func DefinitionURI(name string) string { return DefinitionsDir + name + ".yaml" }

// ConfigMapURI is the resource holding the ConfigMap called name.
func ConfigMapURI(name string) string { return ConfigMapsDir + name + ".yaml" }

// Resolved is a definition ready to run: the functionRef chain is merged and
// the code source is the root's.
type Resolved struct {
	Name    string
	Runtime taskdef.Runtime
	// Chain lists the definitions merged, the one run first, its code's
	// owner last.
	Chain []string
	// Source/Code/URL: where the code comes from (deno and python). Code is
	// set for inline and configMapRef, URL for httpRef.
	Source taskdef.Source
	Code   string
	URL    string
	// Container is set for the container runtime.
	Container     *taskdef.ContainerSpec
	Parameters    map[string]string
	Secret        string
	CmdParameters string
	Retries       int
	Timeout       time.Duration
	TTL           int
}

// located is a definition and the file it was read from (for parents and
// ConfigMaps kept in the same file).
type located struct {
	def  taskdef.Definition
	file taskdef.File
}

// loader reads definitions once per trigger.
type loader struct {
	res   executor.Resources
	scope executor.Scope
	files map[string]taskdef.File
}

func (l *loader) file(ctx context.Context, uri string) (taskdef.File, error) {
	if f, ok := l.files[uri]; ok {
		return f, nil
	}
	b, err := lookup(ctx, l.res, l.scope, uri)
	if err != nil {
		return taskdef.File{}, err
	}
	f, err := taskdef.Parse(b)
	if err != nil {
		return taskdef.File{}, fmt.Errorf("%s: %w", uri, err)
	}
	if l.files == nil {
		l.files = map[string]taskdef.File{}
	}
	l.files[uri] = f
	return f, nil
}

func (l *loader) definition(ctx context.Context, name string, near *taskdef.File) (located, error) {
	if near != nil {
		if d, ok := near.Definition(name); ok {
			return located{d, *near}, nil
		}
	}
	f, err := l.file(ctx, DefinitionURI(name))
	if err != nil {
		return located{}, err
	}
	d, ok := f.Definition(name)
	if !ok {
		return located{}, fmt.Errorf("%s has no KeptnTaskDefinition named %q: %w", DefinitionURI(name), name, taskdef.ErrInvalid)
	}
	return located{d, f}, nil
}

// errMissing marks a definition that does not exist at all (as opposed to
// a missing parent or ConfigMap of an existing one).
var errMissing = errors.New("task definition not found")

// ErrRefCycle is returned (wrapped) for a functionRef cycle.
var ErrRefCycle = errors.New("functionRef cycle")

// resolve loads name and its functionRef ancestors and merges them.
// taskParams (data.<task>.parameters) have the lowest precedence.
func (l *loader) resolve(ctx context.Context, name string, taskParams map[string]string) (Resolved, error) {
	cur, err := l.definition(ctx, name, nil)
	if errors.Is(err, executor.ErrNotFound) {
		return Resolved{}, fmt.Errorf("%w: %w", errMissing, err)
	}
	if err != nil {
		return Resolved{}, err
	}
	chain := []taskdef.Definition{cur.def}
	seen := map[string]bool{name: true}
	for cur.def.Function != nil && cur.def.Function.Source == taskdef.SourceFunctionRef {
		ref := cur.def.Function.Ref
		if seen[ref] {
			return Resolved{}, fmt.Errorf("definition %q: %w through %q", name, ErrRefCycle, ref)
		}
		if len(chain) > MaxRefDepth {
			return Resolved{}, fmt.Errorf("definition %q: functionRef chain longer than %d: %w", name, MaxRefDepth, taskdef.ErrInvalid)
		}
		seen[ref] = true
		parent, err := l.definition(ctx, ref, &cur.file)
		if err != nil {
			return Resolved{}, fmt.Errorf("definition %q: functionRef %q: %w", name, ref, err)
		}
		chain = append(chain, parent.def)
		cur = parent
	}
	r := Merge(chain, taskParams)
	if r.Source == taskdef.SourceConfigMap {
		code, err := l.configMapCode(ctx, cur.def.Function.Ref, &cur.file)
		if err != nil {
			return Resolved{}, fmt.Errorf("definition %q: configMapRef %q: %w", cur.def.Name, cur.def.Function.Ref, err)
		}
		r.Code = code
	}
	return r, nil
}

func (l *loader) configMapCode(ctx context.Context, name string, near *taskdef.File) (string, error) {
	cm, ok := near.ConfigMap(name)
	if !ok {
		f, err := l.file(ctx, ConfigMapURI(name))
		if err != nil {
			return "", err
		}
		if cm, ok = f.ConfigMap(name); !ok {
			return "", fmt.Errorf("%s has no ConfigMap named %q: %w", ConfigMapURI(name), name, taskdef.ErrInvalid)
		}
	}
	code := cm.Data["code"]
	if code == "" {
		return "", fmt.Errorf("ConfigMap %q has no key \"code\": %w", name, taskdef.ErrInvalid)
	}
	return code, nil
}

// Merge merges a functionRef chain (chain[0] is the definition run,
// chain[i+1] the one chain[i] refers to; the last has the code), following
// KLT and extending it to any depth:
//   - runtime and code come from the last definition (the root);
//   - parameters: a nearer definition's key beats a farther one's, and every
//     definition's beats taskParams;
//   - secureParameters.secret and cmdParameters: the nearest one set;
//   - retries, timeout and ttl: chain[0]'s.
func Merge(chain []taskdef.Definition, taskParams map[string]string) Resolved {
	first, root := chain[0], chain[len(chain)-1]
	r := Resolved{Name: first.Name, Runtime: root.Runtime, Retries: first.Retries, Timeout: first.Timeout, TTL: first.TTLSecondsAfterFinished}
	params := map[string]string{}
	for k, v := range taskParams {
		params[k] = v
	}
	for i := len(chain) - 1; i >= 0; i-- {
		d := chain[i]
		r.Chain = append([]string{d.Name}, r.Chain...)
		var p map[string]string
		var secret, cmd string
		if d.Function != nil {
			p, secret, cmd = d.Function.Parameters, d.Function.Secret, d.Function.CmdParameters
		} else if d.Container != nil {
			p, secret = d.Container.Parameters, d.Container.Secret
		}
		for k, v := range p {
			params[k] = v
		}
		if secret != "" {
			r.Secret = secret
		}
		if cmd != "" {
			r.CmdParameters = cmd
		}
	}
	if len(params) > 0 {
		r.Parameters = params
	}
	if root.Function != nil {
		r.Source, r.Code, r.URL = root.Function.Source, root.Function.Code, root.Function.URL
	}
	r.Container = root.Container
	return r
}
