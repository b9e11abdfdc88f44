//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// readmeEvent is the event the README's curl example posts.
const readmeEvent = `{
  "event": {"targetName": "projects/demo/devices/fridge-1", "eventType": "temperature",
            "data": {"temperature": {"value": 4.2, "updateTime": "2026-11-25T10:00:00Z"}}},
  "labels": {"name": "Fridge 1", "room": "Kitchen"},
  "metadata": {"deviceType": "temperature", "productNumber": "102081"}}`

// TestMakeRunInterrupt runs `make run` as a user does, on a terminal: the
// README's event reaches the receiver once per connector, signed with the
// default development secret, RECEIVE_FLAGS reach the receiver, and Ctrl-C
// stops the pipeline and the receiver with make exiting 0. It uses make
// run's fixed ports, so it runs only from `make check-run-interrupt`.
func TestMakeRunInterrupt(t *testing.T) {
	if os.Getenv("HOOKPIPE_CHECK_RUN_INTERRUPT") == "" {
		t.Skip("run with make check-run-interrupt: it uses make run's ports 8080, 9092 and 9999")
	}
	for _, tt := range []struct{ receiveFlags, want string }{
		{"", "  OK  verified  temperature  fridge-1  "},
		{"--failure-rate 1", "  FAIL(503)  verified  temperature  fridge-1  "},
	} {
		t.Run("RECEIVE_FLAGS="+tt.receiveFlags, func(t *testing.T) {
			out, code := makeRunAndInterrupt(t, tt.receiveFlags, tt.want)
			if code != 0 || strings.Contains(out, "make: ***") {
				t.Errorf("make run exited %d after Ctrl-C, want 0; output:\n%s", code, out)
			}
			if !strings.Contains(out, "hookpipe stopped") {
				t.Errorf("no \"hookpipe stopped\" in the output:\n%s", out)
			}
			if ln, err := net.Listen("tcp", "127.0.0.1:9999"); err != nil {
				t.Errorf("the receiver still holds 127.0.0.1:9999: %v", err)
			} else {
				ln.Close()
			}
		})
	}
}

// makeRunAndInterrupt starts make run on a new pseudo-terminal, posts the
// README's event once the pipeline runs, waits until the receiver printed
// want for both connectors, types Ctrl-C and returns the output and
// make's exit code.
func makeRunAndInterrupt(t *testing.T, receiveFlags, want string) (string, int) {
	master, slave := openPTY(t)
	cmd := exec.Command("make", "--no-print-directory", "run", "RECEIVE_FLAGS="+receiveFlags, "RUN_FLAGS=--data-dir "+t.TempDir())
	cmd.Dir = "../.."
	cmd.Env = freshEnv()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var out lockedBuffer
	go func() { _, _ = out.ReadFrom(master) }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
		}
	}()
	waitFor(t, &out, 3*time.Minute, func(s string) bool { return strings.Contains(s, "hookpipe running") })
	resp, err := http.Post("http://127.0.0.1:8080/v1/events", "application/json", strings.NewReader(readmeEvent))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/events: %s", resp.Status)
	}
	waitFor(t, &out, 30*time.Second, func(s string) bool {
		return strings.Contains(s, want+"eventId=") && strings.Count(s, want) >= 2 &&
			strings.Contains(s, `labels={"name":"Fridge 1","room":"Kitchen"}`) && strings.Contains(s, `labels={"name":"Fridge 1"}`)
	})
	if _, err := master.Write([]byte{3}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("make run still running a minute after Ctrl-C:\n%s", out.String())
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// freshEnv is this process's environment without the variables a user's
// fresh shell would not have set for hookpipe.
func freshEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOOKPIPE_") && !strings.HasPrefix(kv, "KAFKA_BROKERS=") {
			env = append(env, kv)
		}
	}
	return env
}

// waitFor polls out until cond holds, failing t after d.
func waitFor(t *testing.T, out *lockedBuffer, d time.Duration, cond func(string) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for !cond(out.String()) {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s; output:\n%s", d, out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// openPTY opens a new pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	var unlock int32
	var n uint32
	if err := ioctl(master, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		t.Fatal(err)
	}
	if err := ioctl(master, syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return master, slave
}

func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), req, uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}

// lockedBuffer is a bytes.Buffer safe for one writer and many readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) ReadFrom(f *os.File) (int64, error) {
	p := make([]byte, 4096)
	var total int64
	for {
		n, err := f.Read(p)
		if n > 0 {
			_, _ = b.Write(p[:n])
			total += int64(n)
		}
		if err != nil {
			return total, err
		}
	}
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
