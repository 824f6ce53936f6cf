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
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
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
	"control-plane":    "slipway-control-plane",
	"api":              "slipway-api",
	"task-runner":      "slipway-task-runner",
	"knative-deployer": "slipway-knative-deployer",
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
// the function as package f. The CloudEvents scaffolds start the Kafka
// transport instead when FUNC_TRANSPORT=kafka, as func's do.
func mainSource(style Style, invoke, module string) string {
	handler := "f.New()"
	if style == Static {
		handler = "ce.DefaultHandler{Handler: f.Handle}"
	}
	if invoke == "cloudevent" {
		return fmt.Sprintf(`package main

import (
	"fmt"
	"os"

	ce "knative.dev/func-go/cloudevents"
	"knative.dev/func-go/kafka"

	f %q
)

func main() {
	var err error
	if os.Getenv("FUNC_TRANSPORT") == "kafka" {
		err = kafka.Start(%s)
	} else {
		err = ce.Start(%s)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
		os.Exit(1)
	}
}
`, module, handler, handler)
	}
	call := "http.Start(f.New())"
	if style == Static {
		call = "http.Start(http.DefaultHandler{Handler: f.Handle})"
	}
	return fmt.Sprintf(`package main

import (
	"fmt"
	"os"

	"knative.dev/func-go/http"

	f %q
)

func main() {
	if err := %s; err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
		os.Exit(1)
	}
}
`, module, call)
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

// template is func's embedded Go scaffold module (knative/func
// templates/go/scaffolding/<signature>/go.mod and go.sum): module s
// requiring func-go at the scaffold's pin, tidied. It is made once per run
// by tidying a main that imports what every scaffold imports.
type template struct {
	once     sync.Once
	mod, sum []byte
	err      error
}

var funcTemplate template // per test binary; filled once, read-only after

func (t *template) get(ctx context.Context) ([]byte, []byte, error) {
	t.once.Do(func() {
		dir, err := os.MkdirTemp("", "func-template-")
		if err != nil {
			t.err = err
			return
		}
		defer os.RemoveAll(dir)
		files := map[string]string{
			"go.mod":  fmt.Sprintf("module s\n\ngo 1.25.0\n\nrequire knative.dev/func-go %s\n", FuncGoVersion),
			"main.go": "package main\n\nimport (\n\t_ \"knative.dev/func-go/cloudevents\"\n\t_ \"knative.dev/func-go/http\"\n\t_ \"knative.dev/func-go/kafka\"\n)\n\nfunc main() {}\n",
		}
		for n, c := range files {
			if t.err = os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); t.err != nil {
				return
			}
		}
		if t.err = goCmd(ctx, dir, []string{"GOWORK=off", "GOFLAGS=-mod=mod"}, "mod", "tidy"); t.err != nil {
			return
		}
		t.mod, t.err = os.ReadFile(filepath.Join(dir, "go.mod"))
		if t.err == nil {
			t.sum, t.err = os.ReadFile(filepath.Join(dir, "go.sum"))
		}
	})
	return t.mod, t.sum, t.err
}

// FuncWork is the workspace func's host build finds from its scaffold
// directory: <function>/.func/go.work (see docs/deploy.md).
const FuncWork = ".func/go.work"

// Scaffold writes what `func build --builder host` writes, under root
// instead of the function's own .func: root/.func/build holds the scaffold
// module s (func's template go.mod patched as func's patchScaffolding does:
// the function's go directive if newer, its requires, `replace <module> =>
// ./f`, its go.sum appended; its own replace directives are NOT copied), the
// scaffold main.go, and the f link to the function. With workspace set, the
// function's committed .func/go.work is copied to root/.func/go.work with its
// paths made absolute, so the go command finds it from the scaffold exactly
// as it finds the original in a checkout.
func Scaffold(ctx context.Context, f Function, root string, workspace bool) error {
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
	tmod, tsum, err := funcTemplate.get(ctx)
	if err != nil {
		return fmt.Errorf("func template: %w", err)
	}
	sm, err := modfile.Parse("go.mod", tmod, nil)
	if err != nil {
		return err
	}
	if fm.Go != nil && semver.Compare("v"+fm.Go.Version, "v"+sm.Go.Version) > 0 {
		if err := sm.AddGoStmt(fm.Go.Version); err != nil {
			return err
		}
	}
	if err := sm.AddReplace(module, "", "./f", ""); err != nil {
		return err
	}
	if err := sm.AddRequire(module, "v0.0.0-00010101000000-000000000000"); err != nil {
		return err
	}
	have := map[string]bool{}
	for _, r := range sm.Require {
		have[r.Mod.Path] = true
	}
	for _, r := range fm.Require {
		if !have[r.Mod.Path] {
			if err := sm.AddRequire(r.Mod.Path, r.Mod.Version); err != nil {
				return err
			}
		}
	}
	mod, err := sm.Format()
	if err != nil {
		return err
	}
	fsum, _ := os.ReadFile(filepath.Join(f.Dir, "go.sum"))
	build := filepath.Join(root, ".func", "build")
	files := map[string][]byte{
		"go.mod":           mod,
		"go.sum":           append(append([]byte{}, tsum...), fsum...),
		"main.go":          []byte(mainSource(style, f.Spec.Invoke, module)),
		"sigcheck/main.go": []byte(sigcheckSource(style, f.Spec.Invoke, module)),
	}
	if workspace {
		work, err := absWork(f.Dir)
		if err != nil {
			return err
		}
		files["../go.work"] = work
	}
	for name, content := range files {
		p := filepath.Join(build, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			return err
		}
	}
	return os.Symlink(f.Dir, filepath.Join(build, "f"))
}

// absWork returns fnDir/.func/go.work with every path but ./build made
// absolute (relative to fnDir/.func, where the go command reads them).
func absWork(fnDir string) ([]byte, error) {
	p := filepath.Join(fnDir, FuncWork)
	raw, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("%w: without it the go command in .func/build finds the repository's go.work, which does not list the scaffold, or (GOWORK=off) downloads the repository's modules at v0.0.0, which were never published", err)
	}
	wf, err := modfile.ParseWork(p, raw, nil)
	if err != nil {
		return nil, err
	}
	abs := func(path string) string {
		if filepath.IsAbs(path) || !(strings.HasPrefix(path, "./") || strings.HasPrefix(path, "../")) || path == "./build" {
			return path
		}
		return filepath.Join(fnDir, ".func", path)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "go %s\n\n", wf.Go.Version)
	for _, u := range wf.Use {
		fmt.Fprintf(&b, "use %s\n", abs(u.Path))
	}
	for _, r := range wf.Replace {
		old := r.Old.Path
		if r.Old.Version != "" {
			old += " " + r.Old.Version
		}
		repl := abs(r.New.Path)
		if r.New.Version != "" {
			repl += " " + r.New.Version
		}
		fmt.Fprintf(&b, "replace %s => %s\n", old, repl)
	}
	return b.Bytes(), nil
}

// goCmd runs the go tool in dir with the caller's environment minus GOWORK
// and GOFLAGS (func's host builder passes its own environment on; these two
// would decide the outcome), CGO_ENABLED=0 as func pegs it, then env.
func goCmd(ctx context.Context, dir string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOWORK=") && !strings.HasPrefix(kv, "GOFLAGS=") && !strings.HasPrefix(kv, "CGO_ENABLED=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, "CGO_ENABLED=0"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// BuildFunction scaffolds and builds a function like `func build --builder
// host` (`go build` in .func/build, no tidy, the environment as given), then
// runs the signature check. workspace: use the function's .func/go.work (a
// repository function); without it the build runs with GOWORK=off, as for a
// stand-alone function.
func BuildFunction(ctx context.Context, f Function, root string, workspace bool) error {
	if err := Scaffold(ctx, f, root, workspace); err != nil {
		return fmt.Errorf("scaffold: %w", err)
	}
	build := filepath.Join(root, ".func", "build")
	var env []string
	if !workspace {
		// A stand-alone function may lack go.sum lines func-go needs; func
		// users fix that with `go mod tidy` in the function, which these
		// throw-away functions cannot do.
		env = []string{"GOWORK=off", "GOFLAGS=-mod=mod"}
	}
	if err := goCmd(ctx, build, env, "build", "-o", filepath.Join("result", "f.bin"), "."); err != nil {
		return err
	}
	if err := goCmd(ctx, build, env, "build", "-o", "sigcheck.bin", "./sigcheck"); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(build, "sigcheck.bin"))
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
// host` does from a checkout (func's scaffold in .func/build, the function
// module replaced by ./f, none of its own replace directives, the
// function's .func/go.work found from there, no published version of any
// repository module) and checks func-go accepts its signature.
func TestFunctionsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function: skipped with -short")
	}
	fns, err := FindFunctions(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fns {
		t.Run(f.Spec.Name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			if err := BuildFunction(ctx, f, t.TempDir(), true); err != nil {
				t.Fatalf("%s: %v", f.Rel, err)
			}
		})
	}
}

// TestFuncWorkspaces: every function has a .func/go.work that uses the
// scaffold and, for each repository module its go.mod requires, uses that
// module's directory and replaces the required version with it (the go
// command otherwise looks the never-published v0.0.0 up on the proxy).
func TestFuncWorkspaces(t *testing.T) {
	fns, err := FindFunctions(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs(repoRoot)
	mods, err := repoModules(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fns {
		t.Run(f.Spec.Name, func(t *testing.T) {
			p := filepath.Join(f.Dir, FuncWork)
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("%s/%s: %v (func build runs `go build` in .func/build)", f.Rel, FuncWork, err)
			}
			wf, err := modfile.ParseWork(p, raw, nil)
			if err != nil {
				t.Fatal(err)
			}
			uses := map[string]bool{}
			for _, u := range wf.Use {
				uses[filepath.Clean(filepath.Join(f.Dir, ".func", u.Path))] = true
			}
			if !uses[filepath.Join(f.Dir, ".func", "build")] {
				t.Errorf("%s/%s does not use ./build, the scaffold", f.Rel, FuncWork)
			}
			replaced := map[string]string{}
			for _, r := range wf.Replace {
				replaced[r.Old.Path+"@"+r.Old.Version] = filepath.Clean(filepath.Join(f.Dir, ".func", r.New.Path))
			}
			raw, err = os.ReadFile(filepath.Join(f.Dir, "go.mod"))
			if err != nil {
				t.Fatal(err)
			}
			fm, err := modfile.Parse("go.mod", raw, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range fm.Require {
				dir, local := mods[r.Mod.Path]
				if !local {
					continue
				}
				if !uses[dir] {
					t.Errorf("%s/%s: the function requires %s; use its directory %s", f.Rel, FuncWork, r.Mod.Path, dir)
				}
				if got := replaced[r.Mod.Path+"@"+r.Mod.Version]; got != dir {
					t.Errorf("%s/%s: want replace %s %s => (the directory of) %s, have %q", f.Rel, FuncWork, r.Mod.Path, r.Mod.Version, dir, got)
				}
			}
		})
	}
}

// TestBuildNeedsTheWorkspace proves the function builds depend on
// .func/go.work: without it a function requiring the root module fails
// (nothing serves github.com/slipwayhq/slipway v0.0.0).
func TestBuildNeedsTheWorkspace(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a function: skipped with -short")
	}
	fns, err := FindFunctions(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fns {
		if f.Rel != filepath.Join("functions", "evaluator") {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		err := BuildFunction(ctx, f, t.TempDir(), false)
		if err == nil {
			t.Fatal("functions/evaluator built without its .func/go.work: the check proves nothing")
		}
		if !strings.Contains(err.Error(), RootModule) {
			t.Fatalf("failed, but not for the root module: %v", err)
		}
		return
	}
	t.Fatal("functions/evaluator not found")
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
			err := BuildFunction(ctx, f, filepath.Join(dir, "build"), false)
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
