package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// SetInFile sets name=value in the env file at path and changes nothing
// else: the assignment that takes effect (the last) is rewritten in place,
// keeping its export prefix and line ending, or a line is appended. The
// file is replaced atomically, keeping its mode and owner; a symbolic link
// is followed and its target written. A missing file is created (mode
// 0600).
func SetInFile(path, name, value string) error {
	target, err := resolveLink(path)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(target)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return replaceFile(target, setAssignment(old, name, value))
}

// resolveLink returns the file that path names, following symbolic links.
func resolveLink(path string) (string, error) {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return path, nil // a plain file, or none yet: written as path
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("%s is a symbolic link whose target cannot be used (%w): create the target, or replace the link by a file", path, err)
	}
	return target, nil
}

// assignment is one statement of an env file: the lines [first, last],
// the name it assigns and what stands before the name (indentation,
// export).
type assignment struct {
	first, last int
	name        string
	prefix      []byte
}

// statementStart matches the beginning of an assignment as godotenv reads
// it: optional export, the name, then = or :.
var statementStart = regexp.MustCompile(`^(\s*(?:export\s+)?)([A-Za-z0-9_.]+)\s*[=:]\s*`)

// assignments lists the statements of an env file, so that a line inside
// a multi-line quoted value is never taken for an assignment of its own.
func assignments(lines [][]byte) []assignment {
	var out []assignment
	for i := 0; i < len(lines); i++ {
		m := statementStart.FindSubmatchIndex(lines[i])
		if m == nil {
			continue
		}
		a := assignment{first: i, last: i, name: string(lines[i][m[4]:m[5]]), prefix: lines[i][m[2]:m[3]]}
		if rest := lines[i][m[1]:]; len(rest) > 0 && (rest[0] == '"' || rest[0] == '\'') {
			a.last = closingLine(lines, i, m[1])
			i = a.last
		}
		out = append(out, a)
	}
	return out
}

// closingLine is the line on which the quoted value opened at lines[i][at]
// closes, as godotenv finds it: the next quote that no backslash precedes.
// An unclosed value runs to the end of the file.
func closingLine(lines [][]byte, i, at int) int {
	quote := lines[i][at]
	prev := quote
	from := at + 1
	for ; i < len(lines); i, from = i+1, 0 {
		for _, c := range lines[i][from:] {
			if c == quote && prev != '\\' {
				return i
			}
			prev = c
		}
	}
	return len(lines) - 1
}

// setAssignment returns env file old with name set to value.
func setAssignment(old []byte, name, value string) []byte {
	lines := bytes.SplitAfter(old, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	eol := []byte("\n")
	if bytes.Contains(old, []byte("\r\n")) {
		eol = []byte("\r\n")
	}
	var last *assignment
	for _, a := range assignments(lines) {
		if a.name == name {
			last = &a
		}
	}
	if last == nil {
		out := old
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
			out = append(out, eol...)
		}
		return append(append(out, name+"="+value...), eol...)
	}
	end := lines[last.last][len(bytes.TrimRight(lines[last.last], "\r\n")):]
	line := append(append(append([]byte{}, last.prefix...), name+"="+value...), end...)
	var out []byte
	for _, l := range lines[:last.first] {
		out = append(out, l...)
	}
	out = append(out, line...)
	for _, l := range lines[last.last+1:] {
		out = append(out, l...)
	}
	return out
}

// replaceFile writes data to path atomically: into a new file beside it,
// made with the mode and owner of the file it replaces, then renamed over
// it.
func replaceFile(path string, data []byte) error {
	mode, uid, gid := fs.FileMode(0o600), -1, -1
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
		uid, gid = owner(fi)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = writeTemp(tmp, data, mode, uid, gid)
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeTemp fills the new file and gives it the mode and owner of the one
// it replaces (uid -1: a new file, the creator's).
func writeTemp(f *os.File, data []byte, mode fs.FileMode, uid, gid int) error {
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if uid >= 0 {
		if err := f.Chown(uid, gid); err != nil {
			return fmt.Errorf("keep the file's owner %d:%d: %w", uid, gid, err)
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}
