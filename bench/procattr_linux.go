package bench

import (
	"os"
	"os/exec"
	"syscall"
)

// ownGroup puts cmd in a process group of its own, killed with the bench
// even when the bench itself is killed (Pdeathsig).
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills p's process group.
func killGroup(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGKILL) }

// terminate asks p to stop cleanly.
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
