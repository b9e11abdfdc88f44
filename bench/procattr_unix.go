//go:build unix && !linux

package bench

import (
	"os"
	"os/exec"
	"syscall"
)

// ownGroup puts cmd in a process group of its own.
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// killGroup kills p's process group.
func killGroup(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGKILL) }

// terminate asks p to stop cleanly.
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
