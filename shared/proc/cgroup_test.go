package proc

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeCgroupfs makes a directory laid out like a cgroup v2 mount that
// delegates the given controllers (plain files: the kernel's side is not
// there, so what the sandbox writes stays readable).
func fakeCgroupfs(t *testing.T, controllers string) string {
	t.Helper()
	root := t.TempDir()
	if controllers != "-" {
		if err := os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte(controllers+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestCgroupSelection: a run gets its own cgroup only where cgroup v2 is
// mounted with the pids and memory controllers delegated; everywhere else
// the sandbox falls back to rlimits, and says why.
func TestCgroupSelection(t *testing.T) {
	cases := map[string]struct {
		controllers string // "-": no cgroup.controllers (no cgroup v2)
		want        bool
		enable      string
		why         string
	}{
		"no cgroup v2":                   {controllers: "-", why: "no cgroup v2"},
		"hugetlb only (this CI machine)": {controllers: "hugetlb", why: "not [pids memory]"},
		"pids without memory":            {controllers: "cpu pids", why: "not [pids memory]"},
		"pids and memory":                {controllers: "memory pids", want: true, enable: "+pids +memory"},
		"pids, memory and cpu":           {controllers: "cpuset cpu io memory hugetlb pids rdma", want: true, enable: "+pids +memory +cpu"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			root := fakeCgroupfs(t, c.controllers)
			cg, why := detectCgroups(root)
			if (cg != nil) != c.want {
				t.Fatalf("cgroups %v (%s), want %v", cg != nil, why, c.want)
			}
			if !c.want {
				if !strings.Contains(why, c.why) {
					t.Fatalf("reason %q, want it to say %q", why, c.why)
				}
				if _, err := os.Stat(filepath.Join(root, "slipway-runs")); err == nil {
					t.Fatal("made the runs' cgroup while falling back")
				}
				return
			}
			if got := readFile(t, filepath.Join(root, "cgroup.subtree_control")); got != c.enable {
				t.Errorf("root subtree_control %q, want %q", got, c.enable)
			}
			if got := readFile(t, filepath.Join(root, "slipway-runs", "cgroup.subtree_control")); got != c.enable {
				t.Errorf("runs subtree_control %q, want %q", got, c.enable)
			}
			// The executor left the root (no internal processes in a
			// cgroup that delegates).
			if got := readFile(t, filepath.Join(root, "slipway-executor", "cgroup.procs")); got != strconv.Itoa(os.Getpid()) {
				t.Errorf("executor cgroup.procs %q, want our pid", got)
			}
		})
	}
}

// TestRunCgroup: a run's cgroup gets pids.max and memory.max from the
// limits, abort and timeout write cgroup.kill, and the end removes it.
func TestRunCgroup(t *testing.T) {
	cases := map[string]struct {
		limits    Limits
		pids, mem string
	}{
		"defaults":  {limits: Limits{}.withDefaults(), pids: "256", mem: strconv.Itoa(2 << 30)},
		"unlimited": {limits: Limits{Processes: -1, DataBytes: -1}, pids: "max", mem: "max"},
		"set":       {limits: Limits{Processes: 8, DataBytes: 64 << 20}, pids: "8", mem: strconv.Itoa(64 << 20)},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cg, why := detectCgroups(fakeCgroupfs(t, "pids memory"))
			if cg == nil {
				t.Fatal(why)
			}
			rc, err := cg.newRun("run-x", c.limits)
			if err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(rc.dir, "pids.max")); got != c.pids {
				t.Errorf("pids.max %q, want %q", got, c.pids)
			}
			if got := readFile(t, filepath.Join(rc.dir, "memory.max")); got != c.mem {
				t.Errorf("memory.max %q, want %q", got, c.mem)
			}
			if rc.fd < 0 {
				t.Error("no cgroup fd for CLONE_INTO_CGROUP")
			}
			j := &jail{uid: -1, marker: "none-" + name, cgroup: rc}
			j.killAll()
			if got := readFile(t, filepath.Join(rc.dir, "cgroup.kill")); got != "1" {
				t.Errorf("cgroup.kill %q after killAll, want 1", got)
			}
			// A real cgroupfs removes the interface files with the
			// directory; here they stay, so only the fd is checked.
			rc.remove()
			if rc.fd != -1 {
				t.Error("cgroup fd left open")
			}
			if _, err := cg.newRun("run-x", c.limits); err == nil {
				t.Error("a second run with the same name got a cgroup")
			}
		})
	}
}

// TestSandboxCgroupMode: the Sandbox takes cgroups from its CgroupRoot
// only when a child really starts in one; everywhere else it falls back to
// rlimits, says why, and still runs children.
func TestSandboxCgroupMode(t *testing.T) {
	cases := map[string]struct {
		root string
		why  string
	}{
		// Looks delegated, but a plain directory cannot take a child
		// (CLONE_INTO_CGROUP): the probe catches it before any run fails.
		"delegated but not a cgroupfs": {root: fakeCgroupfs(t, "pids memory cpu"), why: "cgroup probe: start a child in"},
		"hugetlb only":                 {root: fakeCgroupfs(t, "hugetlb"), why: "not [pids memory]"},
		"off":                          {root: "off", why: "disabled"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			sb, err := NewSandbox(SandboxConfig{Slots: 1, CgroupRoot: c.root})
			if err != nil {
				t.Fatal(err)
			}
			on, why := sb.Cgroups()
			if on || !strings.Contains(why, c.why) {
				t.Fatalf("cgroups %v (%s), want the rlimit fallback saying %q", on, why, c.why)
			}
			// The fallback still runs children, under rlimits.
			res, err := sb.Run(t.Context(), Cmd{Path: "sh", Args: []string{"-c", "echo ran"}, Env: []string{"PATH=/usr/bin:/bin"}})
			if err != nil || !strings.Contains(string(res.Output), "ran") {
				t.Fatalf("run on the fallback: %v %q", err, res.Output)
			}
		})
	}
}
