package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
)

// SetInFile sets name=value in the env file at path: it replaces every
// line that assigns name (the last would win otherwise), or appends one,
// and leaves every other line, comment and blank as it was. The file is
// created (mode 0600) when missing.
func SetInFile(path, name, value string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	line := []byte(name + "=" + value)
	assigns := regexp.MustCompile(`^\s*(export\s+)?` + regexp.QuoteMeta(name) + `\s*=`)
	lines := bytes.SplitAfter(old, []byte("\n"))
	replaced := false
	for i, l := range lines {
		if assigns.Match(l) {
			nl := []byte{}
			if bytes.HasSuffix(l, []byte("\n")) {
				nl = []byte("\n")
			}
			lines[i] = append(append([]byte{}, line...), nl...)
			replaced = true
		}
	}
	out := bytes.Join(lines, nil)
	if !replaced {
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
			out = append(out, '\n')
		}
		out = append(append(out, line...), '\n')
	}
	mode := fs.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, mode); err != nil { // WriteFile's mode is subject to the umask
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
