package stream_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
)

// privateNATS is a nats-server with JetStream of one benchmark's own, so
// that the server's CPU per event can be read from /proc: the shared
// server serves other tests and sessions, whose work would be counted too.
type privateNATS struct {
	url string
	cmd *exec.Cmd
}

// startPrivateNATS runs nats-server -js on a free loopback port with its
// store in a temporary directory; it is killed when tb ends. It skips tb
// when nats-server is not installed.
func startPrivateNATS(tb testing.TB) *privateNATS {
	tb.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		tb.Skip("nats-server not on PATH: skipping the private NATS benchmark")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	dir := tb.TempDir()
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", filepath.Join(dir, "js"))
	log, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &privateNATS{url: fmt.Sprintf("nats://127.0.0.1:%d", port), cmd: cmd}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = log.Close()
	})
	// Ready when it accepts a client; another process may have taken the
	// port first, and then it never does.
	deadline := time.Now().Add(10 * time.Second)
	for {
		nc, err := natsgo.Connect(p.url, natsgo.Timeout(time.Second))
		if err == nil {
			nc.Close()
			return p
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(log.Name())
			tb.Fatalf("private nats-server not ready: %v\n%s", err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// CPU is the processor time the server has used so far (utime + stime
// from /proc/<pid>/stat; it runs no children).
func (p *privateNATS) CPU(tb testing.TB) time.Duration {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	// Fields after the command name, which may hold spaces: state is the
	// first, utime the 12th and stime the 13th.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		tb.Fatalf("short /proc/%d/stat", p.cmd.Process.Pid)
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	// USER_HZ is 100 on every Linux architecture Go supports.
	return time.Duration(ticks) * 10 * time.Millisecond
}
