package proc

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/google/uuid"
)

// SandboxCapabilities are the capabilities a root executor needs for the
// sandbox and nothing more: SETUID and SETGID to start children on their
// slot's uid, CHOWN to hand them their work dir, KILL to kill every process
// of a slot's uid, DAC_OVERRIDE to remove the slot's work dir afterwards.
// config/hardening adds exactly these (hack/knative checks it).
func SandboxCapabilities() []string {
	return []string{"SETUID", "SETGID", "CHOWN", "KILL", "DAC_OVERRIDE"}
}

// SandboxConfig configures a Sandbox. Zero values take the defaults.
type SandboxConfig struct {
	// Slots is how many children run at once; further runs wait in a queue
	// (a run is never refused for being one too many). Default 4.
	Slots int
	// UIDBase is the first uid of the slots: slot i runs as UIDBase+i, group
	// UIDBase+i, no supplementary groups. Default: a random base between
	// 100000 and 16877216, so two executors on one machine (the local
	// runtime, parallel tests) do not share uids, since the end of a run
	// kills every process of its uid. Used only when the
	// executor runs as root (it needs CAP_SETUID); otherwise children keep
	// the executor's uid and rely on the other guards (see docs/security.md).
	UIDBase int
	// NoUIDSwitch keeps children on the executor's uid even as root.
	NoUIDSwitch bool
	// Limits are set on every child before it runs its program.
	Limits Limits
	// CgroupRoot is the cgroup v2 hierarchy where each run gets a cgroup of
	// its own (pids.max, memory.max, killed with cgroup.kill) when the pids
	// and memory controllers are delegated and it is writable; otherwise
	// the rlimits alone bound a run. "" is DefaultCgroupRoot; "off"
	// disables it. The rlimits apply either way.
	CgroupRoot string
}

// Limits are POSIX resource limits of a child (0 = the default; negative
// = unlimited). RLIMIT_NPROC counts per uid, so it is applied only when the
// child has a uid of its own: on the executor's uid it would count the
// executor's threads.
type Limits struct {
	CPUSeconds int64 // RLIMIT_CPU; default 0 (none: the run's timeout bounds it)
	DataBytes  int64 // RLIMIT_DATA (heap and private writable mappings); default 2 GiB
	Processes  int64 // RLIMIT_NPROC; default 256
	FileBytes  int64 // RLIMIT_FSIZE (largest file written); default 1 GiB
	OpenFiles  int64 // RLIMIT_NOFILE; default 1024
}

func (l Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.DataBytes, 2<<30)
	def(&l.Processes, 256)
	def(&l.FileBytes, 1<<30)
	def(&l.OpenFiles, 1024)
	return l
}

// Sandbox runs children confined: at most Slots at once, each slot on a uid
// of its own (as root), under resource limits, with the executor process
// itself not dumpable, so a child cannot read /proc/<executor>/environ or
// its memory even on the same uid. When a run ends, is aborted or times out,
// every process of its slot is killed, including those that left the
// process group (setsid, double fork). One Sandbox serves all runs of an
// executor instance; it is safe for concurrent use.
type Sandbox struct {
	cfg     SandboxConfig
	slots   chan int
	switchU bool
	prlimit string
	cg      *cgroups // nil: rlimits only (cgWhy says why)
	cgWhy   string
}

// NewSandbox makes the executor process non-dumpable (PR_SET_DUMPABLE 0:
// /proc/<pid>/environ, mem and fd become root-owned and unreadable to
// other processes of its uid) and returns the Sandbox.
func NewSandbox(cfg SandboxConfig) (*Sandbox, error) {
	if cfg.Slots <= 0 {
		cfg.Slots = 4
	}
	if cfg.UIDBase <= 0 {
		cfg.UIDBase = 100000 + rand.IntN(1<<24/cfg.Slots)*cfg.Slots
	}
	cfg.Limits = cfg.Limits.withDefaults()
	if err := SetNotDumpable(); err != nil {
		return nil, err
	}
	s := &Sandbox{cfg: cfg, slots: make(chan int, cfg.Slots), switchU: !cfg.NoUIDSwitch && os.Geteuid() == 0}
	for i := range cfg.Slots {
		s.slots <- i
	}
	// prlimit(1) sets the limits in the child before it execs the program;
	// without it they are set right after the start (a brief window).
	if p, err := exec.LookPath("prlimit"); err == nil {
		s.prlimit = p
	}
	switch cfg.CgroupRoot {
	case "off":
		s.cgWhy = "disabled"
	case "":
		cfg.CgroupRoot = DefaultCgroupRoot
		fallthrough
	default:
		s.cg, s.cgWhy = detectCgroups(cfg.CgroupRoot)
		if s.cg != nil {
			if err := s.cg.probe(); err != nil {
				s.cg, s.cgWhy = nil, err.Error()
			}
		}
	}
	return s, nil
}

// SetNotDumpable sets PR_SET_DUMPABLE to 0 for the calling process.
func SetNotDumpable() error {
	const prSetDumpable = 4
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetDumpable, 0, 0); e != 0 {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE, 0): %w", e)
	}
	return nil
}

// Cgroups reports whether each run gets a cgroup of its own, and if not,
// why (the rlimits alone bound runs then).
func (s *Sandbox) Cgroups() (bool, string) { return s.cg != nil, s.cgWhy }

// SwitchesUID reports whether children run on uids of their own.
func (s *Sandbox) SwitchesUID() bool { return s.switchU }

// Slots is the number of concurrent runs.
func (s *Sandbox) Slots() int { return s.cfg.Slots }

// Run waits for a free slot (or ctx: then the Result says Canceled), then
// runs c confined. c.Dir, when set, is handed to the slot's uid (it is the
// run's private work and temp dir); c.Path is resolved on the PATH of c.Env
// to a program the slot's uid can execute.
func (s *Sandbox) Run(ctx context.Context, c Cmd) (Result, error) {
	var slot int
	select {
	case slot = <-s.slots:
	case <-ctx.Done():
		return Result{ExitCode: -1, Canceled: true}, nil
	}
	defer func() { s.slots <- slot }()
	j := &jail{uid: -1, limits: s.cfg.Limits, prlimit: s.prlimit, marker: uuid.NewString()}
	if s.switchU {
		j.uid = s.cfg.UIDBase + slot
		if c.Dir != "" {
			if !othersCanSearch(filepath.Dir(c.Dir)) {
				return Result{ExitCode: -1}, fmt.Errorf("run %s: work dir %s is not reachable by uid %d: a directory above it is not searchable by others (make work dirs under /tmp or a 0755 WORK_DIR)", c.Path, c.Dir, j.uid)
			}
			if err := chownTree(c.Dir, j.uid); err != nil {
				return Result{ExitCode: -1}, fmt.Errorf("run %s: hand the work dir to uid %d: %w", c.Path, j.uid, err)
			}
		}
	}
	// A program the slot's uid cannot execute (an interpreter under a
	// private home, like pyenv's under /root) is looked up by name instead.
	if strings.Contains(c.Path, "/") && s.switchU && !othersCanExec(c.Path) {
		c.Path = filepath.Base(c.Path)
	}
	if !strings.Contains(c.Path, "/") {
		p, err := lookPathFor(c.Path, envValue(c.Env, "PATH"), s.switchU)
		if err != nil {
			return Result{ExitCode: -1}, fmt.Errorf("run %s: %w", c.Path, err)
		}
		c.Path = p
	}
	if !s.switchU {
		c.Env = append(append([]string(nil), c.Env...), markerVar+"="+j.marker)
	}
	if s.cg != nil {
		rc, err := s.cg.newRun("run-"+j.marker, s.cfg.Limits)
		if err != nil {
			return Result{ExitCode: -1}, fmt.Errorf("run %s: %w", c.Path, err)
		}
		defer rc.remove()
		j.cgroup = rc
	}
	c.jail = j
	return Run(ctx, c)
}

// markerVar marks a sandboxed child's environment: without a uid of its
// own, the processes of a run are found by it.
const markerVar = "SLIPWAY_RUN"

// jail is what Sandbox.Run adds to a Cmd.
type jail struct {
	uid     int // -1: the executor's
	limits  Limits
	prlimit string
	marker  string
	cgroup  *runCgroup // nil: no cgroup of its own
}

// apply sets the child's uid and runs its program under prlimit(1).
func (j *jail) apply(cmd *exec.Cmd) {
	if j.uid >= 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(j.uid), Gid: uint32(j.uid), Groups: []uint32{}}
	}
	if j.cgroup != nil {
		// Started inside its cgroup (clone3 CLONE_INTO_CGROUP): no window
		// in which it could fork outside.
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, j.cgroup.fd
	}
	if j.prlimit == "" {
		return
	}
	args := []string{j.prlimit}
	for _, l := range j.list() {
		args = append(args, "--"+l.flag+"="+l.value())
	}
	args = append(args, "--", cmd.Path)
	args = append(args, cmd.Args[1:]...)
	cmd.Path, cmd.Args = j.prlimit, args
}

type rlimit struct {
	flag     string
	resource int
	v        int64
}

func (r rlimit) value() string {
	if r.v < 0 {
		return "unlimited"
	}
	return strconv.FormatInt(r.v, 10)
}

func (j *jail) list() []rlimit {
	l := j.limits
	out := []rlimit{{"core", 4, 0}, {"data", 2, l.DataBytes}, {"fsize", 1, l.FileBytes}, {"nofile", 7, l.OpenFiles}}
	if l.CPUSeconds != 0 {
		out = append(out, rlimit{"cpu", 0, l.CPUSeconds})
	}
	if j.uid >= 0 {
		out = append(out, rlimit{"nproc", 6, l.Processes})
	}
	return out
}

// late sets the limits on a started child (no prlimit binary). On a uid
// other than the executor's it needs CAP_SYS_RESOURCE; without it the run
// fails rather than go on unlimited.
func (j *jail) late(pid int) error {
	if j.prlimit != "" {
		return nil
	}
	for _, l := range j.list() {
		v := uint64(l.v)
		if l.v < 0 {
			v = ^uint64(0)
		}
		lim := [2]uint64{v, v}
		if _, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(l.resource), uintptr(unsafe.Pointer(&lim)), 0, 0, 0); e != 0 {
			return fmt.Errorf("set RLIMIT %s on the child (install prlimit(1) from util-linux): %w", l.flag, e)
		}
	}
	return nil
}

// killAll kills every process of the run: its uid's, or those carrying
// its marker.
func (j *jail) killAll() {
	if j.cgroup != nil {
		j.cgroup.kill() // then the scans below find nothing left
	}
	if j.uid >= 0 {
		killUID(j.uid)
		return
	}
	killMarked(markerVar + "=" + j.marker)
}

// killUID kills every live process whose real, effective or saved uid is
// uid, until a scan finds none: a process forking while it is scanned is
// caught by the next pass (RLIMIT_NPROC bounds how many it can make).
func killUID(uid int) {
	killMatching(func(pid int) bool { return procUID(pid, uid) })
}

func killMarked(marker string) {
	me := os.Getpid()
	killMatching(func(pid int) bool {
		if pid == me {
			return false
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		if err != nil {
			return false
		}
		for _, kv := range bytes.Split(b, []byte{0}) {
			if string(kv) == marker {
				return true
			}
		}
		return false
	})
}

func killMatching(match func(pid int) bool) {
	for range 100 {
		ents, err := os.ReadDir("/proc")
		if err != nil {
			return
		}
		n := 0
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid <= 1 || !live(pid) || !match(pid) {
				continue
			}
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
			}
		}
		if n == 0 {
			return
		}
		time.Sleep(time.Millisecond) // let the killed ones become zombies
	}
}

// live reports whether pid exists and is not a zombie.
func live(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// State is the field after the parenthesised command name.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	st := b[i+2]
	return st != 'Z' && st != 'X'
}

func procUID(pid, uid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f, ok := strings.CutPrefix(line, "Uid:"); ok {
			for i, v := range strings.Fields(f) {
				if i < 3 && v == strconv.Itoa(uid) {
					return true
				}
			}
			return false
		}
	}
	return false
}

// chownTree gives dir and everything in it to uid (group uid).
func chownTree(dir string, uid int) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, uid)
	})
}

// lookPathFor finds name on path. With others set, only a program that any
// uid may execute counts: every directory on the way searchable by others
// and the file executable by others (a pyenv shim under a 0700 /root is
// skipped for the next python3 on the PATH).
func lookPathFor(name, path string, others bool) (string, error) {
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		if others && !othersCanExec(p) {
			continue
		}
		return p, nil
	}
	if others {
		return "", fmt.Errorf("%s: no program of that name on PATH %q that an unprivileged uid may execute", name, path)
	}
	return "", fmt.Errorf("%s: %w", name, exec.ErrNotFound)
}

func othersCanExec(p string) bool {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return false
	}
	fi, err := os.Stat(real)
	if err != nil || fi.Mode()&0o001 == 0 {
		return false
	}
	return othersCanSearch(filepath.Dir(real))
}

// othersCanSearch reports whether dir and every directory above it may be
// searched (x) by any uid.
func othersCanSearch(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for d := dir; ; d = filepath.Dir(d) {
		di, err := os.Stat(d)
		if err != nil || di.Mode()&0o001 == 0 {
			return false
		}
		if d == "/" {
			return true
		}
	}
}

func envValue(env []string, name string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v
		}
	}
	return ""
}
