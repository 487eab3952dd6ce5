//go:build unix

package pgtest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// owner is the OS user the server runs as when it cannot be us.
type owner struct {
	name     string
	uid, gid int
}

// serverOwner returns the postgres OS user when we run as root, because
// postgres refuses to run as root; otherwise nil: the server runs as us.
func serverOwner() (*owner, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, so the server must run as the postgres OS user: %w", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, fmt.Errorf("postgres user id %q: %w", u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, fmt.Errorf("postgres group id %q: %w", u.Gid, err)
	}
	return &owner{name: u.Username, uid: uid, gid: gid}, nil
}

// apply makes cmd run as the owner.
func (o *owner) apply(cmd *exec.Cmd) {
	if o == nil {
		return
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(o.uid), Gid: uint32(o.gid)},
	}
}

// chown gives path to the owner.
func (o *owner) chown(path string) error {
	if o == nil {
		return nil
	}
	return os.Chown(path, o.uid, o.gid)
}

// checkReachable fails when the owner cannot reach dir because one of its
// parents (say a TMPDIR under /root) is closed to other users.
func (o *owner) checkReachable(dir string) error {
	if o == nil {
		return nil
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("check %s: %w", d, err)
		}
		if !o.canSearch(fi) {
			return fmt.Errorf("the %s user cannot reach %s: %s is not open to other users (chmod o+x it, or set TMPDIR elsewhere)", o.name, dir, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// canSearch reports whether the owner may traverse the directory fi.
func (o *owner) canSearch(fi os.FileInfo) bool {
	perm := fi.Mode().Perm()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		switch {
		case int(st.Uid) == o.uid:
			return perm&0o100 != 0
		case int(st.Gid) == o.gid:
			return perm&0o010 != 0
		}
	}
	return perm&0o001 != 0
}
