//go:build !unix

package pgtest

import "os/exec"

// owner is the OS user the server runs as when it cannot be us; off Unix
// the server always runs as us.
type owner struct{}

func serverOwner() (*owner, error)         { return nil, nil }
func (*owner) apply(*exec.Cmd)             {}
func (*owner) chown(string) error          { return nil }
func (*owner) checkReachable(string) error { return nil }
