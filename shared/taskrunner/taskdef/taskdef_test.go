package taskdef

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseValid(t *testing.T) {
	tests := map[string]struct {
		yaml string
		want Definition
	}{
		"v1 deno inline with defaults": {
			yaml: `
apiVersion: lifecycle.keptn.sh/v1
kind: KeptnTaskDefinition
metadata: {name: hello}
spec:
  deno:
    inline:
      code: console.log("hi")
    parameters: {map: {a: "1", port: 8080}}
    secureParameters: {secret: tok}
    cmdParameters: "-x"
`,
			want: Definition{APIVersion: "lifecycle.keptn.sh/v1", Name: "hello", Runtime: Deno, Retries: 10, Timeout: 5 * time.Minute, TTLSecondsAfterFinished: 300,
				Function: &Function{Source: SourceInline, Code: `console.log("hi")`, Parameters: map[string]string{"a": "1", "port": "8080"}, Secret: "tok", CmdParameters: "-x"}},
		},
		"v1 python httpRef retries timeout": {
			yaml: `
apiVersion: lifecycle.keptn.sh/v1
kind: KeptnTaskDefinition
metadata: {name: py}
spec:
  python:
    httpRef: {url: "https://example.com/x.py"}
  retries: 0
  timeout: 1m30s
  ttlSecondsAfterFinished: 5
`,
			want: Definition{APIVersion: "lifecycle.keptn.sh/v1", Name: "py", Runtime: Python, Retries: 0, Timeout: 90 * time.Second, TTLSecondsAfterFinished: 5,
				Function: &Function{Source: SourceHTTP, URL: "https://example.com/x.py"}},
		},
		"v1alpha3 function is deno": {
			yaml: `
apiVersion: lifecycle.keptn.sh/v1alpha3
kind: KeptnTaskDefinition
metadata: {name: child}
spec:
  function:
    functionRef: {name: parent}
`,
			want: Definition{APIVersion: "lifecycle.keptn.sh/v1alpha3", Name: "child", Runtime: Deno, Retries: 10, Timeout: 5 * time.Minute, TTLSecondsAfterFinished: 300,
				Function: &Function{Source: SourceFunctionRef, Ref: "parent"}},
		},
		"v1alpha3 python configMapRef": {
			yaml: `
apiVersion: lifecycle.keptn.sh/v1alpha3
kind: KeptnTaskDefinition
metadata: {name: cm}
spec:
  python:
    configMapRef: {name: code-cm}
`,
			want: Definition{APIVersion: "lifecycle.keptn.sh/v1alpha3", Name: "cm", Runtime: Python, Retries: 10, Timeout: 5 * time.Minute, TTLSecondsAfterFinished: 300,
				Function: &Function{Source: SourceConfigMap, Ref: "code-cm"}},
		},
		"v1 container": {
			yaml: `
apiVersion: lifecycle.keptn.sh/v1
kind: KeptnTaskDefinition
metadata: {name: ctr}
spec:
  container:
    name: c
    image: busybox:1.36
    command: [sh, -c]
    args: ["echo hi"]
    env: [{name: A, value: b}]
  parameters: {map: {k: v}}
  secureParameters: {secret: s}
`,
			want: Definition{APIVersion: "lifecycle.keptn.sh/v1", Name: "ctr", Runtime: Container, Retries: 10, Timeout: 5 * time.Minute, TTLSecondsAfterFinished: 300,
				Container: &ContainerSpec{Name: "c", Image: "busybox:1.36", Command: []string{"sh", "-c"}, Args: []string{"echo hi"}, Env: []EnvVar{{"A", "b"}}, Parameters: map[string]string{"k": "v"}, Secret: "s"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := Parse([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Definitions) != 1 {
				t.Fatalf("got %d definitions", len(f.Definitions))
			}
			if got := f.Definitions[0]; !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v %+v %+v\nwant %+v %+v %+v", got, got.Function, got.Container, tc.want, tc.want.Function, tc.want.Container)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	head := "apiVersion: lifecycle.keptn.sh/v1\nkind: KeptnTaskDefinition\nmetadata: {name: x}\n"
	tests := map[string]struct {
		yaml    string
		mention string
	}{
		"no runtime":          {head + "spec: {retries: 1}\n", "none is set"},
		"two runtimes":        {head + "spec:\n  deno: {inline: {code: a}}\n  python: {inline: {code: b}}\n", "spec.deno and spec.python"},
		"function in v1":      {head + "spec:\n  function: {inline: {code: a}}\n", "spec.function"},
		"no code source":      {head + "spec:\n  deno: {parameters: {map: {a: b}}}\n", "spec.deno needs exactly one"},
		"two code sources":    {head + "spec:\n  python: {inline: {code: a}, httpRef: {url: 'https://x/y'}}\n", "spec.python.inline and spec.python.httpRef"},
		"empty inline":        {head + "spec:\n  deno: {inline: {code: '  '}}\n", "inline.code is empty"},
		"bad url":             {head + "spec:\n  deno: {httpRef: {url: 'file:///etc/passwd'}}\n", "httpRef.url"},
		"self ref":            {head + "spec:\n  deno: {functionRef: {name: x}}\n", "itself"},
		"bad timeout":         {head + "spec:\n  deno: {inline: {code: a}}\n  timeout: soon\n", "spec.timeout"},
		"zero timeout":        {head + "spec:\n  deno: {inline: {code: a}}\n  timeout: '0'\n", "spec.timeout"},
		"negative retries":    {head + "spec:\n  deno: {inline: {code: a}}\n  retries: -1\n", "spec.retries"},
		"container no image":  {head + "spec:\n  container: {name: c}\n", "spec.container.image"},
		"container valueFrom": {head + "spec:\n  container: {image: a, env: [{name: A, valueFrom: {secretKeyRef: {name: s, key: k}}}]}\n", "valueFrom"},
		"params outside ctr":  {head + "spec:\n  deno: {inline: {code: a}}\n  parameters: {map: {a: b}}\n", "only for spec.container"},
		"bad name":            {"apiVersion: lifecycle.keptn.sh/v1\nkind: KeptnTaskDefinition\nmetadata: {name: X_Y}\nspec: {deno: {inline: {code: a}}}\n", "metadata.name"},
		"unknown version":     {"apiVersion: lifecycle.keptn.sh/v9\nkind: KeptnTaskDefinition\nmetadata: {name: x}\nspec: {deno: {inline: {code: a}}}\n", "apiVersion"},
		"alpha1 deno":         {"apiVersion: lifecycle.keptn.sh/v1alpha1\nkind: KeptnTaskDefinition\nmetadata: {name: x}\nspec: {deno: {inline: {code: a}}}\n", "spec.function"},
		"not yaml":            {"apiVersion: [", ""},
		"second doc invalid":  {head + "spec: {deno: {inline: {code: a}}}\n---\n" + head + "spec: {}\n", "document 2"},
		"configmap no name":   {"apiVersion: v1\nkind: ConfigMap\ndata: {code: a}\n", "ConfigMap"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("error %q does not mention %q", err, tc.mention)
			}
		})
	}
	_, err := Parse([]byte(head + "spec: {}\n"))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("validation error %v does not wrap ErrInvalid", err)
	}
}

func TestParseMultiDoc(t *testing.T) {
	src := `
apiVersion: lifecycle.keptn.sh/v1
kind: KeptnTaskDefinition
metadata: {name: parent}
spec:
  deno: {configMapRef: {name: parent-code}}
---
# comment-only and empty documents are skipped
---
apiVersion: v1
kind: ConfigMap
metadata: {name: parent-code}
data:
  code: console.log(1)
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ignored}
---
apiVersion: lifecycle.keptn.sh/v1
kind: KeptnTaskDefinition
metadata: {name: child}
spec:
  deno: {functionRef: {name: parent}}
`
	f, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Definitions) != 2 || len(f.ConfigMaps) != 1 {
		t.Fatalf("got %d definitions, %d configmaps", len(f.Definitions), len(f.ConfigMaps))
	}
	if cm, ok := f.ConfigMap("parent-code"); !ok || cm.Data["code"] != "console.log(1)" {
		t.Fatalf("configmap: %+v %v", cm, ok)
	}
	d, _, err := ParseDefinition([]byte(src), "child")
	if err != nil || d.Function.Ref != "parent" {
		t.Fatalf("child: %+v %v", d, err)
	}
	if _, _, err := ParseDefinition([]byte(src), "nope"); err == nil {
		t.Fatal("missing definition: no error")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("apiVersion: lifecycle.keptn.sh/v1\nkind: KeptnTaskDefinition\nmetadata: {name: x}\nspec: {deno: {inline: {code: a}}, retries: 2, timeout: 1s}\n"))
	f.Add([]byte("apiVersion: lifecycle.keptn.sh/v1alpha3\nkind: KeptnTaskDefinition\nmetadata: {name: x}\nspec: {container: {image: a, env: [{name: A, value: b}]}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {code: x}\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		for _, d := range file.Definitions {
			if d.Name == "" || d.Timeout <= 0 || d.Retries < 0 {
				t.Fatalf("invalid definition accepted: %+v", d)
			}
			switch d.Runtime {
			case Deno, Python:
				if d.Function == nil || d.Container != nil || d.Function.Source == "" {
					t.Fatalf("runtime %s without function: %+v", d.Runtime, d)
				}
			case Container:
				if d.Container == nil || d.Function != nil || d.Container.Image == "" {
					t.Fatalf("container runtime without container: %+v", d)
				}
			default:
				t.Fatalf("unknown runtime %q", d.Runtime)
			}
		}
	})
}
