package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// binary is the hookpipe binary the fault tests run as subprocesses, built
// once per test process.
var binary struct {
	once sync.Once
	path string
	dir  string // the build directory, removed by TestMain at the end
	err  error
}

// removeBinary deletes the binary built for this run, if any.
func removeBinary() {
	if binary.dir != "" {
		_ = os.RemoveAll(binary.dir)
	}
}

// hookpipeBinary builds cmd/hookpipe once (without -race: the pipeline
// under test is the subprocess, and a plain build links in seconds) and
// returns its path; HOOKPIPE_BIN, when set, names a prebuilt binary to use
// instead. TestMain removes the build at the end; directories older than
// a day, left by runs that were killed, are swept first.
func hookpipeBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		if bin := os.Getenv("HOOKPIPE_BIN"); bin != "" {
			binary.path, binary.err = filepath.Abs(bin)
			return
		}
		sweepOldBuilds()
		dir, err := os.MkdirTemp("", "hookpipe-it-bin-")
		if err != nil {
			binary.err = err
			return
		}
		binary.dir = dir
		path := filepath.Join(dir, "hookpipe")
		cmd := exec.Command("go", "build", "-o", path, "github.com/hookpipe/hookpipe/cmd/hookpipe")
		out, err := cmd.CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build ./cmd/hookpipe: %v\n%s", err, out)
			return
		}
		binary.path = path
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

func sweepOldBuilds() {
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), "hookpipe-it-bin-*"))
	for _, d := range old {
		if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
			_ = os.RemoveAll(d)
		}
	}
}

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is one `hookpipe run` subprocess; start may be called again after it
// exited, with the same flags and address.
type proc struct {
	t    *testing.T
	name string
	addr string
	args []string
	log  string   // file both stdout and stderr append to
	env  []string // HOOKPIPE_KAFKA_* for its brokers, added to this process's environment

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // Wait's result, once exited is closed
	starts int
}

// spawn starts `hookpipe run` on the env's connectors and topic prefix, on
// brokers, with extra flags; it is killed at the end of the test.
func (e *env) spawn(name string, brokers []string, extra ...string) *proc {
	e.t.Helper()
	p := &proc{t: e.t, name: name, addr: freeAddr(e.t), log: filepath.Join(e.t.TempDir(), name+".log")}
	p.env = kafka.Security{}.Environ() // another cluster (the fault tests' own) is plaintext
	if slices.Equal(brokers, suiteBroker.addrs) {
		p.env = suiteBroker.security.Environ()
	}
	p.args = append([]string{"run",
		"--brokers", strings.Join(brokers, ","),
		"--listen", p.addr,
		"--connectors", e.dir,
		"--topic-prefix", e.prefix,
		"--partitions", "3",
	}, extra...)
	e.t.Cleanup(func() {
		p.kill()
		if e.t.Failed() {
			p.dumpLog(60)
		}
	})
	p.start()
	return p
}

// start runs the process (again) and waits until /readyz answers 200.
func (p *proc) start() {
	p.t.Helper()
	bin := hookpipeBinary(p.t)
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.starts++
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(exited)
	}()
	p.waitReady(time.Minute)
}

func (p *proc) waitReady(timeout time.Duration) {
	p.t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := c.Get("http://" + p.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.exited:
			p.dumpLog(40)
			p.t.Fatalf("%s exited before it was ready: %v", p.name, p.err)
		default:
		}
		if time.Now().After(deadline) {
			p.dumpLog(40)
			p.t.Fatalf("%s not ready on %s after %s (last: %v)", p.name, p.addr, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// running reports whether the process has been started and not exited.
func (p *proc) running() bool {
	p.mu.Lock()
	ch := p.exited
	p.mu.Unlock()
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits until the process is gone.
func (p *proc) kill() {
	p.signal(syscall.SIGKILL, 30*time.Second)
}

// term sends SIGTERM and returns the exit error (nil: exit status 0);
// after timeout it kills the process and says so.
func (p *proc) term(timeout time.Duration) error {
	if !p.signal(syscall.SIGTERM, timeout) {
		p.kill()
		return fmt.Errorf("%s did not exit within %s of SIGTERM", p.name, timeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *proc) signal(sig syscall.Signal, timeout time.Duration) bool {
	p.mu.Lock()
	cmd, ch := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return true
	}
	select {
	case <-ch:
		return true
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-ch:
		return true
	case <-time.After(timeout):
		return false
	}
}

func (p *proc) dumpLog(lines int) {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	p.t.Logf("---- last %d log lines of %s (%s) ----\n%s", len(all), p.name, p.log, strings.Join(all, "\n"))
}

// kafkaLocal runs integration/kafka-local.sh (or $HOOKPIPE_KAFKA_LOCAL)
// with args; state, when set, is its HOOKPIPE_KAFKA_STATE.
func kafkaLocal(state string, args ...string) (string, error) {
	script := os.Getenv("HOOKPIPE_KAFKA_LOCAL")
	if script == "" {
		script = "kafka-local.sh" // the tests run in integration/
	}
	script, _ = filepath.Abs(script)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, args...)
	cmd.Env = os.Environ()
	if state != "" {
		cmd.Env = append(cmd.Env, "HOOKPIPE_KAFKA_STATE="+state)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", filepath.Base(script), strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// localCluster says whether KAFKA_BROKERS is the kafka-local.sh cluster of
// the given size, running; else why not.
func localCluster(nodes int) (ok bool, why string) {
	if os.Getenv("KAFKA_BROKERS") == "" {
		return false, "the suite broker is " + suiteBroker.kind + ", not the kafka-local.sh broker (KAFKA_BROKERS unset)"
	}
	out, err := kafkaLocal("", "status")
	if err != nil {
		return false, "kafka-local.sh status: not running: " + strings.TrimSpace(out)
	}
	want := fmt.Sprintf("%d node(s), KAFKA_BROKERS=%s", nodes, strings.Join(suiteBroker.addrs, ","))
	if !strings.Contains(out, want) {
		return false, fmt.Sprintf("KAFKA_BROKERS=%s is not the running %d-node kafka-local.sh cluster (status: %s)",
			strings.Join(suiteBroker.addrs, ","), nodes, strings.TrimSpace(out))
	}
	return true, ""
}
