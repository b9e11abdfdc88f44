package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// procConfig configures one pipeline subprocess.
type procConfig struct {
	Name        string // names the log and profile files, e.g. "throughput"
	Connectors  string // HCL written to the process's connectors dir
	TopicPrefix string
	Stages      string // --stages; empty: all
	// ReadyTimeout bounds the wait for /readyz; default 60s.
	ReadyTimeout time.Duration
}

// proc is one running 'hookpipe run' subprocess.
type proc struct {
	cmd     *exec.Cmd
	addr    string
	logPath string
	exited  chan struct{}
	waitErr error
}

// startPipeline starts 'hookpipe run' with cfg and waits until /readyz
// answers 200. The process is killed, with its process group, when ctx
// ends; stop it with stop.
func (b *Bench) startPipeline(ctx context.Context, cfg procConfig) (*proc, error) {
	cfg.Name = fileName(cfg.Name)
	dir, err := os.MkdirTemp(b.tmp, cfg.Name+"-")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.hcl"), []byte(cfg.Connectors), 0o600); err != nil {
		return nil, err
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &proc{addr: addr, logPath: filepath.Join(dir, "pipeline.log"), exited: make(chan struct{})}
	cmd := exec.CommandContext(ctx, b.opts.Executable, b.runArgs(cfg, dir, addr)...)
	ownGroup(cmd)
	cmd.Env = append(os.Environ(), b.opts.Security.Environ()...)
	cmd.Cancel = func() error { return killGroup(cmd.Process) }
	cmd.WaitDelay = 5 * time.Second
	logf, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start pipeline: %w", err)
	}
	p.cmd = cmd
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	if err := p.waitReady(ctx, cmpOr(cfg.ReadyTimeout, 60*time.Second)); err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

func (b *Bench) runArgs(cfg procConfig, dir, addr string) []string {
	args := []string{"run", "--connectors", dir, "--listen", addr,
		"--brokers", strings.Join(b.brokers, ","), "--topic-prefix", cfg.TopicPrefix,
		"--partitions", strconv.Itoa(b.opts.Partitions), "--log-level", "warn",
		"--data-dir", dir + "-state"} // its own default instance id
	if cfg.Stages != "" {
		args = append(args, "--stages", cfg.Stages)
	}
	if n := b.opts.MaxInFlightTotal; n > 0 {
		args = append(args, "--max-in-flight-total", strconv.Itoa(n))
	} // else the pipeline's default, which never caps a connector's max_in_flight
	if d := b.opts.ProfileDir; d != "" {
		base := filepath.Join(d, cfg.Name)
		args = append(args, "--cpuprofile", base+".cpu.pprof", "--memprofile", base+".heap.pprof")
	}
	return args
}

// waitReady polls /readyz every 50 ms until it answers 200, the process
// exits, or timeout passes.
func (p *proc) waitReady(ctx context.Context, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if resp, err := client.Get("http://" + p.addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("pipeline exited before it was ready: %v\n%s", p.waitErr, p.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("pipeline not ready after %s\n%s", timeout, p.logTail())
}

// IngestURL is the process's ingest endpoint.
func (p *proc) IngestURL() string { return "http://" + p.addr + "/v1/events" }

// disable puts a connector in USER_DISABLED through the API
// (POST /v1/connectors/{name}:disable), which answers once Kafka stored it.
func (p *proc) disable(ctx context.Context, name string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.addr+"/v1/connectors/"+name+":disable", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("disable %s: %w", name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("disable %s: %s", name, resp.Status)
	}
	return nil
}

// stop asks the process to stop (SIGTERM: stop intake, settle, commit,
// write profiles) and kills its process group after 30 s.
func (p *proc) stop() error {
	_ = terminate(p.cmd.Process)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.kill()
		return errors.New("pipeline did not stop within 30s; killed")
	}
	return p.waitErr
}

// kill kills the process group and waits for the process.
func (p *proc) kill() {
	_ = killGroup(p.cmd.Process)
	<-p.exited
}

// peakRSS returns the process's peak resident set (VmHWM), in bytes.
func (p *proc) peakRSS() int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// logTail returns the last 2 KiB of the process's log.
func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 2048 {
		b = b[len(b)-2048:]
	}
	return string(bytes.TrimSpace(b))
}

// freePort returns a loopback address with a port that was free a moment
// ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// fileName makes name safe as a file name: runs of anything but letters,
// digits, '.' and '-' become one '_'.
func fileName(name string) string {
	var sb strings.Builder
	under := false
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'
		switch {
		case ok:
			sb.WriteRune(c)
			under = false
		case !under:
			sb.WriteByte('_')
			under = true
		}
	}
	return sb.String()
}

// cpuMeter starts measuring the process's CPU time: the function it
// returns gives the CPU time used since, and false when /proc could not
// be read at either end.
func (p *proc) cpuMeter() func() (time.Duration, bool) {
	return cpuMeterOf(p.cmd.Process.Pid)
}

// cpuMeterOf is cpuMeter for any pid; 0 is the bench process itself.
func cpuMeterOf(pid int) func() (time.Duration, bool) {
	before, ok1 := procCPU(pid)
	return func() (time.Duration, bool) {
		after, ok2 := procCPU(pid)
		return after - before, ok1 && ok2
	}
}

// cpuTime returns the CPU time the process has used so far; 0 when it
// cannot be read.
func (p *proc) cpuTime() time.Duration {
	d, _ := procCPU(p.cmd.Process.Pid)
	return d
}
