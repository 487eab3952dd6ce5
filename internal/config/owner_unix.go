//go:build unix

package config

import (
	"io/fs"
	"syscall"
)

// owner is the user and group that own the file.
func owner(fi fs.FileInfo) (uid, gid int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return -1, -1
}
