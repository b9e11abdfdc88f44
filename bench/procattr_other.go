//go:build !unix

package bench

import (
	"os"
	"os/exec"
)

// ownGroup does nothing where process groups are not available.
func ownGroup(*exec.Cmd) {}

// killGroup kills p.
func killGroup(p *os.Process) error { return p.Kill() }

// terminate kills p: there is no clean-stop signal to send.
func terminate(p *os.Process) error { return p.Kill() }
