package knative

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
	"sigs.k8s.io/yaml"
)

// Versions the func CLI's Go scaffolding pins (knative/func
// templates/go/scaffolding/instanced-cloudevents/go.mod; see
// shared/docs/reference/knative-firestore.md 1.3).
const (
	FuncGoVersion   = "v0.22.0"
	CESDKVersion    = "v2.16.2"
	RootModule      = "github.com/slipwayhq/slipway"
	FuncSpecVersion = "0.36.0"
)

// FuncSpec is the part of func.yaml (specVersion 0.36.0) the checks read.
type FuncSpec struct {
	SpecVersion string `json:"specVersion"`
	Name        string `json:"name"`
	Runtime     string `json:"runtime"`
	Namespace   string `json:"namespace"`
	Invoke      string `json:"invoke"`
	Build       struct {
		Builder string `json:"builder"`
	} `json:"build"`
	Run struct {
		Envs []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"envs"`
	} `json:"run"`
	Deploy struct {
		Namespace          string `json:"namespace"`
		ServiceAccountName string `json:"serviceAccountName"`
		// Labels go on the Knative Service (func's deployer).
		Labels []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"labels"`
	} `json:"deploy"`
}

// Function is a directory with a func.yaml.
type Function struct {
	Dir  string // absolute
	Rel  string // relative to the repository root
	Spec FuncSpec
}

// FindFunctions returns every function of the repository: each directory
// holding a func.yaml (skipping .git, node_modules and func's .func).
func FindFunctions(root string) ([]Function, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	var out []Function
	err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == ".func") {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != "func.yaml" {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var spec FuncSpec
		if err := yaml.Unmarshal(raw, &spec); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		dir := filepath.Dir(path)
		rel, _ := filepath.Rel(abs, dir)
		out = append(out, Function{Dir: dir, Rel: rel, Spec: spec})
		return nil
	})
	return out, err
}

var funcName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// CheckSpec checks a func.yaml against what Slipway's deployment needs.
func CheckSpec(f Function) error {
	var errs []error
	s := f.Spec
	if s.SpecVersion != FuncSpecVersion {
		errs = append(errs, fmt.Errorf("specVersion %q, want %q", s.SpecVersion, FuncSpecVersion))
	}
	if !funcName.MatchString(s.Name) {
		errs = append(errs, fmt.Errorf("name %q is not a valid Knative Service name", s.Name))
	}
	if s.Runtime != "go" {
		errs = append(errs, fmt.Errorf("runtime %q, want go", s.Runtime))
	}
	if s.Invoke != "http" && s.Invoke != "cloudevent" {
		errs = append(errs, fmt.Errorf("invoke %q: want http or cloudevent (empty means http, which breaks a CloudEvents function)", s.Invoke))
	}
	if s.Build.Builder != "host" {
		errs = append(errs, fmt.Errorf("build.builder %q, want host (no container engine needed)", s.Build.Builder))
	}
	if want, ok := ServiceAccounts[s.Name]; ok && s.Deploy.ServiceAccountName != want {
		errs = append(errs, fmt.Errorf("deploy.serviceAccountName %q, want %q (config/serviceaccounts.yaml): it needs that account's permissions", s.Deploy.ServiceAccountName, want))
	}
	hasSink := false
	for _, e := range s.Run.Envs {
		hasSink = hasSink || e.Name == "K_SINK"
	}
	if !hasSink {
		errs = append(errs, errors.New("run.envs has no K_SINK: every Slipway function publishes to the Broker, and a Knative Service gets no K_SINK by itself (use {{ configMap:slipway-config:brokerURL }})"))
	}
	for _, e := range s.Run.Envs {
		if strings.Contains(e.Value, "{{") && !envRef.MatchString(e.Value) {
			errs = append(errs, fmt.Errorf("run.envs %s: %q is not a func reference ({{ env:X }}, {{ secret:s:k }}, {{ configMap:c:k }})", e.Name, e.Value))
		}
	}
	if _, err := os.Stat(filepath.Join(f.Dir, "go.mod")); err != nil {
		errs = append(errs, fmt.Errorf("no go.mod: a function directory must be a module root"))
	}
	return errors.Join(errs...)
}

// ServiceAccounts are the accounts functions must run as because they need
// their permissions: Firestore through Workload Identity, Jobs through RBAC.
var ServiceAccounts = map[string]string{
	"control-plane": "slipway-control-plane",
	"api":           "slipway-api",
	"task-runner":   "slipway-task-runner",
}

var envRef = regexp.MustCompile(`^\{\{\s*(env:[A-Za-z_][A-Za-z0-9_]*|secret:[-a-z0-9.]+(:[-._a-zA-Z0-9]+)?|configMap:[-a-z0-9.]+(:[-._a-zA-Z0-9]+)?)\s*\}\}$`)

// Style is how func's scaffolding calls a function.
type Style string

// Styles (func pkg/scaffolding/detectors.go).
const (
	Instanced Style = "instanced" // package-level New()
	Static    Style = "static"    // package-level Handle
)

// DetectStyle mirrors func's signature detector: it parses only the
// top-level .go files of the function root, _test.go files included, and
// looks for a receiver-less func New or Handle. Both, or neither, is an error.
func DetectStyle(dir string) (Style, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var hasNew, hasHandle bool
	fset := token.NewFileSet()
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			return "", err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil {
				continue
			}
			switch fn.Name.Name {
			case "New":
				hasNew = true
			case "Handle":
				hasHandle = true
			}
		}
	}
	switch {
	case hasNew && hasHandle:
		return "", errors.New("both a package-level New and Handle: func cannot tell instanced from static")
	case hasNew:
		return Instanced, nil
	case hasHandle:
		return Static, nil
	}
	return "", errors.New("no package-level New() or Handle: func finds no function signature")
}

// mainSource is func's scaffold main.go for each (style, invoke), importing
// the function as package f.
func mainSource(style Style, invoke, module string) string {
	pkg, call := `ce "knative.dev/func-go/cloudevents"`, "ce.Start(f.New())"
	switch {
	case invoke == "cloudevent" && style == Static:
		call = "ce.Start(ce.DefaultHandler{Handler: f.Handle})"
	case invoke != "cloudevent" && style == Instanced:
		pkg, call = `"knative.dev/func-go/http"`, "http.Start(f.New())"
	case invoke != "cloudevent" && style == Static:
		pkg, call = `"knative.dev/func-go/http"`, "http.Start(http.DefaultHandler{Handler: f.Handle})"
	}
	return fmt.Sprintf(`package main

import (
	"fmt"
	"os"

	%s

	f %q
)

func main() {
	if err := %s; err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
		os.Exit(1)
	}
}
`, pkg, module, call)
}

// sigcheckSource is not part of func's scaffold: it builds the Service the
// scaffold's Start would serve (cloudevents.New resolves the Handle method
// among the 12 forms func-go accepts and panics otherwise, which the real
// scaffold only does at startup in the cluster), without starting the
// instance (no Firestore, no config needed).
func sigcheckSource(style Style, invoke, module string) string {
	pkg, call := `ce "knative.dev/func-go/cloudevents"`, "ce.New(f.New())"
	switch {
	case invoke == "cloudevent" && style == Static:
		call = "ce.New(ce.DefaultHandler{Handler: f.Handle})"
	case invoke != "cloudevent" && style == Instanced:
		pkg, call = `"knative.dev/func-go/http"`, "http.New(f.New())"
	case invoke != "cloudevent" && style == Static:
		pkg, call = `"knative.dev/func-go/http"`, "http.New(http.DefaultHandler{Handler: f.Handle})"
	}
	return fmt.Sprintf(`package main

import (
	%s

	f %q
)

func main() { _ = %s }
`, pkg, module, call)
}

// Scaffold writes func's host-builder scaffold for a function into dir: a
// main module "s" requiring the function module (replaced by its directory,
// as func does with its ./f symlink), func-go and the CloudEvents SDK at the
// scaffold's pins, and the function's own requires and go.sum. Like func, it
// does NOT copy the function's replace directives. rootDir, when set,
// replaces the root module: the stand-in for the published root-module
// version a deployed function downloads; every other module of the
// repository (nested modules such as shared/taskrunner/k8sjob) is replaced
// the same way, for the same reason.
func Scaffold(f Function, dir, rootDir string) error {
	style, err := DetectStyle(f.Dir)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(f.Dir, "go.mod"))
	if err != nil {
		return err
	}
	fm, err := modfile.Parse("go.mod", raw, nil)
	if err != nil {
		return err
	}
	module := fm.Module.Mod.Path
	var mod bytes.Buffer
	fmt.Fprintf(&mod, "module s\n\ngo %s\n\nrequire (\n", fm.Go.Version)
	fmt.Fprintf(&mod, "\t%s v0.0.0-00010101000000-000000000000\n", module)
	fmt.Fprintf(&mod, "\tknative.dev/func-go %s\n\tgithub.com/cloudevents/sdk-go/v2 %s\n", FuncGoVersion, CESDKVersion)
	for _, r := range fm.Require {
		if r.Mod.Path == "knative.dev/func-go" || r.Mod.Path == "github.com/cloudevents/sdk-go/v2" {
			continue
		}
		fmt.Fprintf(&mod, "\t%s %s\n", r.Mod.Path, r.Mod.Version)
	}
	fmt.Fprintf(&mod, ")\n\nreplace %s => %s\n", module, f.Dir)
	if rootDir != "" {
		local, err := repoModules(rootDir)
		if err != nil {
			return err
		}
		for path, dir := range local {
			if path != module {
				fmt.Fprintf(&mod, "replace %s => %s\n", path, dir)
			}
		}
	}
	sum, _ := os.ReadFile(filepath.Join(f.Dir, "go.sum"))
	files := map[string]string{
		"go.mod":           mod.String(),
		"go.sum":           string(sum),
		"main.go":          mainSource(style, f.Spec.Invoke, module),
		"sigcheck/main.go": sigcheckSource(style, f.Spec.Invoke, module),
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// repoModules maps every module of the repository (each go.mod under
// rootDir, except tooling under hack/) to its directory.
func repoModules(rootDir string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(rootDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == ".func" || path == filepath.Join(rootDir, "hack")) {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != "go.mod" {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out[modfile.ModulePath(raw)] = filepath.Dir(path)
		return nil
	})
	return out, err
}

// goCmd runs the go tool the way func's host builder does: GOWORK=off (a
// parent go.work breaks the scaffold build), CGO_ENABLED=0.
func goCmd(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// BuildFunction scaffolds and builds a function like `func build --builder
// host`, then runs the signature check. It returns the scaffold directory.
func BuildFunction(ctx context.Context, f Function, dir, rootDir string) error {
	if err := Scaffold(f, dir, rootDir); err != nil {
		return fmt.Errorf("scaffold: %w", err)
	}
	// func runs `go mod tidy` in the scaffold (its requires come from the
	// function's go.mod, which may lack what func-go needs).
	if err := goCmd(ctx, dir, "mod", "tidy"); err != nil {
		return err
	}
	if err := goCmd(ctx, dir, "build", "-o", "f.bin", "."); err != nil {
		return err
	}
	if err := goCmd(ctx, dir, "build", "-o", "sigcheck.bin", "./sigcheck"); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "sigcheck.bin"))
	cmd.Dir = f.Dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("func-go rejects the function's Handle signature: %w\n%s", err, out)
	}
	return nil
}

func TestFuncYAML(t *testing.T) {
	fns, err := FindFunctions(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) == 0 {
		t.Fatal("no func.yaml found")
	}
	for _, f := range fns {
		t.Run(f.Spec.Name, func(t *testing.T) {
			if err := CheckSpec(f); err != nil {
				t.Errorf("%s/func.yaml:\n%v", f.Rel, err)
			}
		})
	}
}

// TestFunctionsBuild builds every function the way `func build --builder
// host` does (GOWORK=off, function module replaced by its directory, no
// replace directives of its own) and checks func-go accepts its signature.
func TestFunctionsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function: skipped with -short")
	}
	fns, err := FindFunctions(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs(repoRoot)
	for _, f := range fns {
		t.Run(f.Spec.Name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			if err := BuildFunction(ctx, f, t.TempDir(), root); err != nil {
				t.Fatalf("%s: %v", f.Rel, err)
			}
		})
	}
}

// TestBuildCatchesBadFunctions proves the build check bites: a function
// without New()/Handle, and one whose Handle has a signature func-go does
// not accept, must both fail.
func TestBuildCatchesBadFunctions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds functions: skipped with -short")
	}
	cases := map[string]struct {
		invoke string
		src    string
	}{
		"no New": {"cloudevent", `package fn

type F struct{}

func Make() *F { return &F{} }
`},
		"cloudevent Handle with a wrong signature": {"cloudevent", `package fn

import "context"

type F struct{}

func New() *F { return &F{} }

func (*F) Handle(ctx context.Context, s string) error { return nil }
`},
		"http Handle with a wrong signature": {"http", `package fn

type F struct{}

func New() *F { return &F{} }

func (*F) Handle(s string) {}
`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			fnDir := filepath.Join(dir, "fn")
			files := map[string]string{
				"go.mod":      "module example.com/fn\n\ngo 1.26.8\n",
				"function.go": c.src,
				"func.yaml":   "specVersion: 0.36.0\nname: fn\nruntime: go\ninvoke: " + c.invoke + "\n",
			}
			if err := os.MkdirAll(fnDir, 0o755); err != nil {
				t.Fatal(err)
			}
			for n, s := range files {
				if err := os.WriteFile(filepath.Join(fnDir, n), []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			f := Function{Dir: fnDir, Rel: "fn", Spec: FuncSpec{Name: "fn", Invoke: c.invoke}}
			err := BuildFunction(ctx, f, filepath.Join(dir, "build"), "")
			if err == nil {
				t.Fatal("a broken function built and passed the signature check")
			}
			t.Logf("rejected as expected: %.200s", err)
		})
	}
}

var refParts = regexp.MustCompile(`^\{\{\s*(secret|configMap):([-a-z0-9.]+)(?::([-._a-zA-Z0-9]+))?\s*\}\}$`)

// TestFuncEnvRefs: every {{ secret:… }} / {{ configMap:… }} a func.yaml
// refers to exists in config/ (the ConfigMap) or in the documented secrets
// layout (config/secrets/), key included: `func deploy` fails on a missing
// one, or worse, the function starts without it.
func TestFuncEnvRefs(t *testing.T) {
	docs, err := LoadDocs("config")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(validationContext(), docs)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]map[string]bool{} // "secret:name" / "configMap:name" → keys
	for _, c := range m.ConfigMaps {
		keys["configMap:"+c.Name] = map[string]bool{}
		for k := range c.Data {
			keys["configMap:"+c.Name][k] = true
		}
	}
	for _, s := range m.Secrets {
		keys["secret:"+s.Name] = map[string]bool{}
		for k := range s.StringData {
			keys["secret:"+s.Name][k] = true
		}
		for k := range s.Data {
			keys["secret:"+s.Name][k] = true
		}
	}
	fns, err := FindFunctions(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fns {
		for _, e := range f.Spec.Run.Envs {
			p := refParts.FindStringSubmatch(e.Value)
			if p == nil {
				continue
			}
			obj, ok := keys[p[1]+":"+p[2]]
			switch {
			case !ok:
				t.Errorf("%s/func.yaml: env %s refers to %s %q, which config/ does not define", f.Rel, e.Name, p[1], p[2])
			case p[3] != "" && !obj[p[3]]:
				t.Errorf("%s/func.yaml: env %s refers to key %q of %s %q, which has no such key", f.Rel, e.Name, p[3], p[1], p[2])
			}
		}
	}
}
