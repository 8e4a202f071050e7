package pgtest

import (
	"fmt"
	"net"
	"os"
	execpkg "os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Private is a PostgreSQL server of one test's own, for fault tests that
// stop and start the database: the shared server must never be stopped.
type Private struct {
	// URL reaches the server's postgres database (trust authentication).
	URL     string
	bin     string
	dir     string
	port    int
	runAs   *syscall.Credential
	logFile string
}

// StartPrivate runs initdb in a temporary directory and starts the server
// on a free loopback port; it is stopped and removed when t ends. It skips
// t when initdb is not installed (on Debian it is under
// /usr/lib/postgresql/*/bin, which is searched). Run as root, the server
// runs as the postgres user, since PostgreSQL refuses to run as root.
func StartPrivate(t testing.TB) *Private {
	t.Helper()
	bin := binDir()
	if bin == "" {
		t.Skip("initdb not found (PATH, /usr/lib/postgresql/*/bin): skipping the private PostgreSQL test")
	}
	p := &Private{bin: bin}
	// Not t.TempDir: its parents are root's and closed to the postgres user.
	dir, err := os.MkdirTemp("", "tollgate-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	p.dir = filepath.Join(dir, "data")
	p.logFile = filepath.Join(dir, "server.log")
	if p.runAs = postgresUser(t); p.runAs != nil {
		if err := os.Chown(dir, int(p.runAs.Uid), int(p.runAs.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := p.cmd("initdb", "-D", p.dir, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	p.port = freePort(t)
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
	p.Start(t)
	t.Cleanup(func() { _ = p.cmd("pg_ctl", "-D", p.dir, "-m", "immediate", "-w", "stop").Run() })
	return p
}

// StartKept runs a server on the data directory dir, created with initdb
// when it holds none, and stops it cleanly when t ends, keeping the data:
// for benchmarks that seed a large database once and reuse it. Run as
// root, the server runs as the postgres user, which must be able to reach
// dir (a directory under /root is not reachable).
func StartKept(t testing.TB, dir string) *Private {
	t.Helper()
	bin := binDir()
	if bin == "" {
		t.Skip("initdb not found (PATH, /usr/lib/postgresql/*/bin): skipping the private PostgreSQL benchmark")
	}
	p := &Private{bin: bin, dir: dir, logFile: filepath.Join(filepath.Dir(dir), "server.log")}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if p.runAs = postgresUser(t); p.runAs != nil {
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chown(d, int(p.runAs.Uid), int(p.runAs.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err != nil {
		if out, err := p.cmd("initdb", "-D", dir, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8").CombinedOutput(); err != nil {
			t.Fatalf("pgtest: initdb %s (the postgres user must reach it): %v\n%s", dir, err, out)
		}
	}
	p.port = freePort(t)
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
	p.Start(t)
	t.Cleanup(func() { _ = p.cmd("pg_ctl", "-D", p.dir, "-m", "fast", "-w", "stop").Run() })
	return p
}

// Start starts the server and waits until it accepts connections; it
// listens on the same port every time.
func (p *Private) Start(t testing.TB) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c max_connections=50", p.port)
	if out, err := p.cmd("pg_ctl", "-D", p.dir, "-l", p.logFile, "-o", opts, "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(p.logFile)
		t.Fatalf("pgtest: pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the server at once, as a crash or a lost network would: open
// connections break and new ones are refused.
func (p *Private) Stop(t testing.TB) {
	t.Helper()
	if out, err := p.cmd("pg_ctl", "-D", p.dir, "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
		t.Fatalf("pgtest: pg_ctl stop: %v\n%s", err, out)
	}
}

func (p *Private) cmd(name string, args ...string) *execpkg.Cmd {
	c := execpkg.Command(filepath.Join(p.bin, name), args...)
	if p.runAs != nil {
		c.SysProcAttr = &syscall.SysProcAttr{Credential: p.runAs}
	}
	return c
}

// binDir is the directory holding initdb and pg_ctl, newest version
// first, or "".
func binDir() string {
	if path, err := execpkg.LookPath("initdb"); err == nil {
		return filepath.Dir(path)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i]
		}
	}
	return ""
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before the server binds it; pg_ctl start then fails loudly.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// CPU is the processor time the server's processes have used so far: the
// postmaster's, its exited backends' (which it has waited for) and its
// running children's, from /proc. Benchmarks read it before and after to
// report the database's CPU per operation, which, unlike wall time, other
// load on the machine does not inflate.
func (p *Private) CPU(t testing.TB) time.Duration {
	t.Helper()
	pidFile, err := os.ReadFile(filepath.Join(p.dir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	master, _, _ := strings.Cut(string(pidFile), "\n")
	fields, err := procStat(master)
	if err != nil {
		t.Fatal(err)
	}
	// utime, stime, cutime, cstime: fields 14-17 of stat, counted from 1
	// before the command name; procStat's start after it, at field 3.
	ticks := sumTicks(fields[11:15])
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		f, err := procStat(e.Name())
		if err != nil || f[1] != master {
			continue
		}
		ticks += sumTicks(f[11:13])
	}
	// USER_HZ is 100 on every Linux architecture Go supports.
	return time.Duration(ticks) * 10 * time.Millisecond
}

// procStat returns the fields of /proc/pid/stat after the command name.
func procStat(pid string) ([]string, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil, fmt.Errorf("pgtest: malformed /proc/%s/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return nil, fmt.Errorf("pgtest: short /proc/%s/stat", pid)
	}
	return f, nil
}

func sumTicks(fields []string) int64 {
	var n int64
	for _, s := range fields {
		v, _ := strconv.ParseInt(s, 10, 64)
		n += v
	}
	return n
}

// postgresUser is who the server runs as: nil (this process's user)
// unless this process is root, which PostgreSQL refuses to run as; then
// the postgres user, or the test is skipped when there is none.
func postgresUser(t testing.TB) *syscall.Credential {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Skip("running as root and no postgres user to run PostgreSQL as: skipping")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}
