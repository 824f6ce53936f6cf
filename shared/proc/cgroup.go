package proc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultCgroupRoot is where cgroup v2 is mounted in a container (with its
// own cgroup namespace, it is the container's cgroup).
const DefaultCgroupRoot = "/sys/fs/cgroup"

// cgroups is the parent under which each run gets a cgroup of its own:
// <root>/slipway-runs/<run>. The executor itself moves to
// <root>/slipway-executor, because cgroup v2 lets a cgroup with processes
// in it delegate controllers to children only at the root.
type cgroups struct {
	runs string
}

// detectCgroups returns the runs' parent under root, or nil and why the
// sandbox falls back to rlimits alone: no cgroup v2 there, the pids or
// memory controller not delegated, or the hierarchy not writable.
func detectCgroups(root string) (*cgroups, string) {
	b, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	if err != nil {
		return nil, fmt.Sprintf("no cgroup v2 at %s", root)
	}
	// pids bounds a run's processes (a fork bomb), memory its total memory
	// (RLIMIT_DATA counts per process only). cpu is enabled when delegated
	// too, but not required.
	need := []string{"pids", "memory"}
	have := strings.Fields(string(b))
	for _, c := range need {
		if !slices.Contains(have, c) {
			return nil, fmt.Sprintf("cgroup %s delegates %v, not %v", root, have, need)
		}
	}
	enable := "+pids +memory"
	if slices.Contains(have, "cpu") {
		enable += " +cpu"
	}
	self := filepath.Join(root, "slipway-executor")
	if err := os.Mkdir(self, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Sprintf("cgroup %s not writable: %v", root, err)
	}
	if err := os.WriteFile(filepath.Join(self, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, fmt.Sprintf("move the executor to %s: %v", self, err)
	}
	if err := os.WriteFile(filepath.Join(root, "cgroup.subtree_control"), []byte(enable), 0o644); err != nil {
		return nil, fmt.Sprintf("enable %s in %s: %v", enable, root, err)
	}
	runs := filepath.Join(root, "slipway-runs")
	if err := os.Mkdir(runs, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Sprintf("make %s: %v", runs, err)
	}
	if err := os.WriteFile(filepath.Join(runs, "cgroup.subtree_control"), []byte(enable), 0o644); err != nil {
		return nil, fmt.Sprintf("enable %s in %s: %v", enable, runs, err)
	}
	return &cgroups{runs: runs}, ""
}

// runCgroup is one run's cgroup; the child starts in it (clone3 with
// CLONE_INTO_CGROUP), so everything it starts stays there.
type runCgroup struct {
	dir string
	fd  int
}

// newRun makes the run's cgroup with its limits: pids.max from
// Limits.Processes, memory.max from Limits.DataBytes (negative: max).
func (c *cgroups) newRun(name string, l Limits) (*runCgroup, error) {
	dir := filepath.Join(c.runs, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("make cgroup %s: %w", dir, err)
	}
	r := &runCgroup{dir: dir, fd: -1}
	limit := func(v int64) []byte {
		if v < 0 {
			return []byte("max")
		}
		return []byte(strconv.FormatInt(v, 10))
	}
	for file, v := range map[string]int64{"pids.max": l.Processes, "memory.max": l.DataBytes} {
		if err := os.WriteFile(filepath.Join(dir, file), limit(v), 0o644); err != nil {
			r.remove()
			return nil, fmt.Errorf("set %s of cgroup %s: %w", file, dir, err)
		}
	}
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		r.remove()
		return nil, fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	r.fd = fd
	return r, nil
}

// kill kills every process in the cgroup at once (cgroup.kill, Linux 5.14),
// including those that left the process group or changed uid.
func (r *runCgroup) kill() {
	_ = os.WriteFile(filepath.Join(r.dir, "cgroup.kill"), []byte("1"), 0o644)
}

// populated reports whether the cgroup still has processes (false when
// cgroup.events is unreadable).
func (r *runCgroup) populated() bool {
	b, err := os.ReadFile(filepath.Join(r.dir, "cgroup.events"))
	return err == nil && strings.Contains(string(b), "populated 1")
}

// remove closes the cgroup and removes it once its processes are gone.
func (r *runCgroup) remove() {
	if r.fd >= 0 {
		_ = syscall.Close(r.fd)
		r.fd = -1
	}
	for range 1000 {
		if !r.populated() {
			break
		}
		time.Sleep(time.Millisecond) // killed processes become zombies and are reaped
	}
	_ = os.Remove(r.dir)
}

// probe starts a child in a cgroup of its own once, so a hierarchy that
// looked usable but refuses CLONE_INTO_CGROUP (an old kernel, a seccomp
// filter on clone3, a fake) makes the sandbox fall back to rlimits instead
// of failing every run.
func (c *cgroups) probe() error {
	bin, err := exec.LookPath("true")
	if err != nil {
		return fmt.Errorf("cgroup probe: %w", err)
	}
	rc, err := c.newRun("probe-"+strconv.Itoa(os.Getpid()), Limits{Processes: 4, DataBytes: 64 << 20})
	if err != nil {
		return fmt.Errorf("cgroup probe: %w", err)
	}
	defer rc.remove()
	cmd := exec.Command(bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: rc.fd}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("cgroup probe: start a child in %s: %w", rc.dir, err)
	}
	return nil
}
