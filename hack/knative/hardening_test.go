package knative

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/ptr"
	servingcfg "knative.dev/serving/pkg/apis/config"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"sigs.k8s.io/yaml"

	"github.com/slipwayhq/slipway/shared/proc"
)

// The cluster hardening (config/hardening, docs/security.md): the two
// functions that run project code are patched after `kn func deploy` to
// run as root with only the capabilities the sandbox needs, so scripts get
// uids of their own and cannot read the executor's 0400 files.
const (
	hardeningDir      = "config/hardening"
	featuresPatch     = "config-features.patch.json"
	saTokenMountPath  = "/var/run/secrets/kubernetes.io/serviceaccount"
	ownerOnlyFileMode = 0o400
)

// hardened are the functions that run project code, with the one that
// holds a service-account token (it creates container-runtime Jobs).
var hardened = map[string]struct{ tokenHolder bool }{
	"generic-executor": {tokenHolder: false},
	"task-runner":      {tokenHolder: true},
}

// funcVolumes is the part of func.yaml the base Service needs.
type funcVolumes struct {
	Run struct {
		Volumes []struct {
			Secret    string `json:"secret"`
			ConfigMap string `json:"configMap"`
			Path      string `json:"path"`
		} `json:"volumes"`
	} `json:"run"`
}

// funcService builds the Knative Service `kn func deploy` writes for f: its
// container with func's default security context (non-root, all
// capabilities dropped), its volumes and its service account.
func funcService(t *testing.T, f Function) *servingv1.Service {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(f.Dir, "func.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var fv funcVolumes
	if err := yaml.Unmarshal(raw, &fv); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{}
	for _, l := range f.Spec.Deploy.Labels {
		labels[l.Key] = l.Value
	}
	c := corev1.Container{
		Image: "registry.example/slipway/" + f.Spec.Name + "@sha256:" + strings.Repeat("a", 64),
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr.Bool(true),
			AllowPrivilegeEscalation: ptr.Bool(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	for _, e := range f.Spec.Run.Envs {
		c.Env = append(c.Env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	var vols []corev1.Volume
	for i, v := range fv.Run.Volumes {
		name := "vol-" + string(rune('a'+i))
		vol := corev1.Volume{Name: name}
		switch {
		case v.Secret != "":
			vol.Secret = &corev1.SecretVolumeSource{SecretName: v.Secret}
		case v.ConfigMap != "":
			vol.ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: v.ConfigMap}}
		default:
			continue
		}
		vols = append(vols, vol)
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: v.Path})
	}
	svc := &servingv1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "serving.knative.dev/v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: f.Spec.Name, Namespace: f.Spec.Deploy.Namespace, Labels: labels},
	}
	svc.Spec.Template.Spec.ServiceAccountName = f.Spec.Deploy.ServiceAccountName
	svc.Spec.Template.Spec.Containers = []corev1.Container{c}
	svc.Spec.Template.Spec.Volumes = vols
	return svc
}

// applyHardening applies config/hardening/<name>.patch.json to svc as
// `kubectl patch ksvc <name> --type json --patch-file` does, decoding the
// result strictly (a misspelt field fails).
func applyHardening(t *testing.T, svc *servingv1.Service) *servingv1.Service {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, hardeningDir, svc.Name+".patch.json"))
	if err != nil {
		t.Fatal(err)
	}
	patch, err := jsonpatch.DecodePatch(raw)
	if err != nil {
		t.Fatalf("%s.patch.json: %v", svc.Name, err)
	}
	doc, err := json.Marshal(svc)
	if err != nil {
		t.Fatal(err)
	}
	out, err := patch.Apply(doc)
	if err != nil {
		t.Fatalf("%s.patch.json does not apply to func's Service: %v", svc.Name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	var patched servingv1.Service
	if err := dec.Decode(&patched); err != nil {
		t.Fatalf("%s.patch.json: %v", svc.Name, err)
	}
	return &patched
}

// servingContext is the context Knative Serving's webhook validates in,
// with config-features as the hardening's patch sets it (nil: Knative's
// defaults).
func servingContext(t *testing.T, features map[string]string) context.Context {
	t.Helper()
	f, err := servingcfg.NewFeaturesConfigFromMap(features)
	if err != nil {
		t.Fatal(err)
	}
	d, err := servingcfg.NewDefaultsConfigFromMap(nil)
	if err != nil {
		t.Fatal(err)
	}
	return servingcfg.ToContext(context.Background(), &servingcfg.Config{Features: f, Defaults: d})
}

func hardeningFeatures(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, hardeningDir, featuresPatch))
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cm); err != nil || len(cm.Data) == 0 {
		t.Fatalf("%s: %v (data %v)", featuresPatch, err, cm.Data)
	}
	return cm.Data
}

func hardenedServices(t *testing.T) map[string]*servingv1.Service {
	t.Helper()
	fns, err := FindFunctions(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*servingv1.Service{}
	for _, f := range fns {
		if _, ok := hardened[f.Spec.Name]; ok {
			out[f.Spec.Name] = applyHardening(t, funcService(t, f))
		}
	}
	if len(out) != len(hardened) {
		t.Fatalf("found %d of the %d functions to harden", len(out), len(hardened))
	}
	return out
}

// TestHardeningPassesKnativeValidation: each patched Service passes
// Knative Serving's own SetDefaults+Validate with config-features as
// config/hardening sets it, and is refused with Knative's defaults (the
// added capabilities need the flag: the check bites).
func TestHardeningPassesKnativeValidation(t *testing.T) {
	feats := hardeningFeatures(t)
	for name, svc := range hardenedServices(t) {
		t.Run(name, func(t *testing.T) {
			ctx := servingContext(t, feats)
			s := svc.DeepCopy()
			s.SetDefaults(ctx)
			if ferr := s.Validate(apis.WithinCreate(ctx)).Filter(apis.ErrorLevel); ferr != nil {
				t.Fatalf("Knative rejects the hardened Service: %v", ferr)
			}
			plain := servingContext(t, nil)
			s = svc.DeepCopy()
			s.SetDefaults(plain)
			ferr := s.Validate(apis.WithinCreate(plain)).Filter(apis.ErrorLevel)
			if ferr == nil || !strings.Contains(ferr.Error(), "capabilities.add") {
				t.Fatalf("without the hardening's config-features Knative says %v, want capabilities.add refused (else the flag is not needed, or the check proves nothing)", ferr)
			}
		})
	}
}

// TestHardeningPolicy: what the patches promise.
func TestHardeningPolicy(t *testing.T) {
	fns, err := FindFunctions(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string]Function{}
	for _, f := range fns {
		funcs[f.Spec.Name] = f
	}
	for name, svc := range hardenedServices(t) {
		t.Run(name, func(t *testing.T) {
			ps := svc.Spec.Template.Spec
			c := ps.Containers[0]
			sc := c.SecurityContext
			if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 0 {
				t.Fatal("the executor does not run as uid 0: the sandbox cannot give scripts uids of their own")
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Error("allowPrivilegeEscalation is not false")
			}
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Error("the root filesystem is writable")
			}
			if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
				t.Errorf("capabilities.drop %v, want [ALL]", sc.Capabilities)
			}
			var added []string
			for _, a := range sc.Capabilities.Add {
				added = append(added, string(a))
			}
			if want := proc.SandboxCapabilities(); !equalSets(added, want) {
				t.Errorf("capabilities.add %v, want exactly what the sandbox needs %v", added, want)
			}
			// Scripts' temp dirs: writable and searchable by the slots'
			// uids while the root filesystem is read-only.
			tmp := false
			for _, m := range c.VolumeMounts {
				if m.MountPath == "/tmp" {
					for _, v := range ps.Volumes {
						tmp = tmp || (v.Name == m.Name && v.EmptyDir != nil)
					}
				}
			}
			if !tmp {
				t.Error("no emptyDir on /tmp (the work dirs) under a read-only root")
			}
			// No token from the ServiceAccount's automount.
			if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
				t.Error("automountServiceAccountToken is not false: the kubelet would mount a 0644 token")
			}
			tokens := 0
			mounts := map[string]string{}
			for _, m := range c.VolumeMounts {
				mounts[m.Name] = m.MountPath
			}
			for _, v := range ps.Volumes {
				switch {
				case v.Secret != nil:
					if v.Secret.DefaultMode == nil || *v.Secret.DefaultMode != ownerOnlyFileMode {
						t.Errorf("Secret volume %s: defaultMode %v, want 0400", v.Name, v.Secret.DefaultMode)
					}
				case v.Projected != nil:
					for _, src := range v.Projected.Sources {
						if src.ServiceAccountToken != nil {
							tokens++
							if mounts[v.Name] != saTokenMountPath {
								t.Errorf("token volume %s mounted at %q, want %s (where client-go reads it)", v.Name, mounts[v.Name], saTokenMountPath)
							}
						}
					}
					if v.Projected.DefaultMode == nil || *v.Projected.DefaultMode != ownerOnlyFileMode {
						t.Errorf("projected volume %s: defaultMode %v, want 0400", v.Name, v.Projected.DefaultMode)
					}
				}
			}
			want := 0
			if hardened[name].tokenHolder {
				want = 1
			}
			if tokens != want {
				t.Errorf("%d service-account token volumes, want %d", tokens, want)
			}
			// Every mount func.yaml asks for is still there.
			orig := funcService(t, funcs[name])
			for _, m := range orig.Spec.Template.Spec.Containers[0].VolumeMounts {
				if !slices.ContainsFunc(c.VolumeMounts, func(x corev1.VolumeMount) bool { return x.MountPath == m.MountPath }) {
					t.Errorf("func.yaml mounts %s; the patch drops it", m.MountPath)
				}
			}
			if c.Image != orig.Spec.Template.Spec.Containers[0].Image || len(c.Env) != len(orig.Spec.Template.Spec.Containers[0].Env) {
				t.Error("the patch changes the image or the environment func deploys")
			}
		})
	}
}

func equalSets(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// helperEnv makes the test binary act as the hardened executor (see
// TestHardenedSandboxUID).
const helperEnv = "SLIPWAY_HARDENING_HELPER"

// TestHardenedSandboxUID runs the real sandbox the way the hardened pod
// runs it: uid 0 with only the capabilities the patch adds (setpriv drops
// the rest from the bounding set and sets no_new_privs, as
// allowPrivilegeEscalation: false does). A script gets a uid other than the
// executor's and cannot read a 0400 file of the executor (a mounted Secret,
// the task runner's token).
func TestHardenedSandboxUID(t *testing.T) {
	if os.Getenv(helperEnv) != "" {
		return // this process is the helper
	}
	ci := os.Getenv("CI") != "" && os.Getenv("CI") != "false" && os.Getenv("CI") != "0"
	setpriv, err := exec.LookPath("setpriv")
	switch {
	case os.Geteuid() != 0 || err != nil:
		msg := "needs root and setpriv(1) (util-linux) to drop to the hardening's capability set"
		if ci {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// A 0400 file of uid 0 under a searchable directory, like a Secret
	// mounted with defaultMode 0400.
	dir, err := os.MkdirTemp("", "hardening-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "token")
	if err := os.WriteFile(secret, []byte("executor-only-secret"), ownerOnlyFileMode); err != nil {
		t.Fatal(err)
	}
	caps := []string{"-all"}
	for _, c := range proc.SandboxCapabilities() {
		caps = append(caps, "+"+strings.ToLower(c))
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--bounding-set="+strings.Join(caps, ","), "--no-new-privs", "--",
		bin, "-test.run=^TestHardenedSandboxHelper$", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"="+secret)
	out, err := cmd.CombinedOutput()
	t.Logf("helper:\n%s", out)
	if err != nil {
		t.Fatalf("helper failed: %v", err)
	}
	if !strings.Contains(string(out), "HELPER-OK") {
		t.Fatal("the helper did not report")
	}
}

// TestHardenedSandboxHelper is the executor side of TestHardenedSandboxUID.
func TestHardenedSandboxHelper(t *testing.T) {
	secret := os.Getenv(helperEnv)
	if secret == "" {
		return // runs only under TestHardenedSandboxUID
	}
	sb, err := proc.NewSandbox(proc.SandboxConfig{Slots: 1})
	if err != nil {
		t.Fatal(err)
	}
	work, err := os.MkdirTemp("", "work-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(work)
	res, err := sb.Run(context.Background(), proc.Cmd{Path: "sh", Dir: work,
		Args: []string{"-c", `echo "uid=$(id -u)"; cat "$1" && echo READ || echo DENIED; echo x > "$HOME/w" && echo WROTE`, "sh", secret},
		Env:  []string{"PATH=/usr/bin:/bin", "HOME=" + work}})
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.Output)
	t.Logf("script: %s", out)
	if strings.Contains(out, "uid=0\n") || !strings.Contains(out, "uid=") {
		t.Fatalf("the script runs on the executor's uid: %s", out)
	}
	if strings.Contains(out, "executor-only-secret") || !strings.Contains(out, "DENIED") {
		t.Fatalf("the script read the executor's 0400 file: %s", out)
	}
	if !strings.Contains(out, "WROTE") {
		t.Fatalf("the script cannot write its own work dir (CHOWN missing?): %s", out)
	}
	// The executor removes the slot's work dir afterwards (DAC_OVERRIDE).
	if err := os.RemoveAll(work); err != nil {
		t.Fatalf("remove the slot's work dir: %v", err)
	}
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Fatalf("work dir left: %v", err)
	}
	t.Log("HELPER-OK")
}
