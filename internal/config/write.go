package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
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
	// Where godotenv cannot read the file, its assignments are unknown.
	if _, err := parseEnvFile(path, old); err != nil {
		return fmt.Errorf("%w; fix it before setting %s", err, name)
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

// statement is one assignment of an env file as godotenv reads it: the
// name, where the name starts (after any export) and where the value
// ends.
type statement struct {
	name       string
	start, end int
}

// statements lists the assignments of src, a file that godotenv parses,
// walking it as godotenv does: a line inside a multi-line quoted value is
// not an assignment, and one may follow a quoted value on its line.
func statements(src []byte) []statement {
	var out []statement
	for i := nextStatement(src, 0); i >= 0; i = nextStatement(src, i) {
		if rest, ok := bytes.CutPrefix(src[i:], []byte("export")); ok && len(rest) > 0 && isSpace(rune(rest[0])) {
			i = len(src) - len(bytes.TrimLeftFunc(rest, isSpace))
		}
		s := statement{start: i, end: valueEnd(src, i)} // no = or ':': godotenv reads it all as a value
		if eq := bytes.IndexAny(src[i:], "=:"); eq >= 0 {
			s.name = strings.TrimRightFunc(string(src[i:i+eq]), unicode.IsSpace)
			v := len(src) - len(bytes.TrimLeftFunc(src[i+eq+1:], isSpace))
			s.end = valueEnd(src, v)
		}
		out = append(out, s)
		i = s.end
	}
	return out
}

// nextStatement is where the statement at or after i begins, past blanks
// and comments; -1 at the end of src.
func nextStatement(src []byte, i int) int {
	for {
		j := bytes.IndexFunc(src[i:], func(r rune) bool { return !unicode.IsSpace(r) })
		if j < 0 {
			return -1
		}
		i += j
		if src[i] != '#' {
			return i
		}
		j = bytes.IndexByte(src[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j
	}
}

// valueEnd is where the value that starts at v ends: after its closing
// quote (the next one no backslash precedes), or at the end of its line.
func valueEnd(src []byte, v int) int {
	if v < len(src) && (src[v] == '"' || src[v] == '\'') {
		for i := v + 1; i < len(src); i++ {
			if src[i] == src[v] && src[i-1] != '\\' {
				return i + 1
			}
		}
		return len(src)
	}
	if eol := bytes.IndexAny(src[v:], "\r\n"); eol >= 0 {
		return v + eol
	}
	return len(src)
}

// isSpace is godotenv's blank within a line.
func isSpace(r rune) bool {
	switch r {
	case '\t', '\v', '\f', '\r', ' ', 0x85, 0xA0:
		return true
	}
	return false
}

// setAssignment returns env file old with name set to value, which is
// written unquoted.
func setAssignment(old []byte, name, value string) []byte {
	if rest, ok := bytes.CutPrefix(old, []byte(bom)); ok {
		return append([]byte(bom), setAssignment(rest, name, value)...)
	}
	eol := []byte("\n")
	if bytes.Contains(old, []byte("\r\n")) {
		eol = []byte("\r\n")
	}
	var last *statement
	for _, s := range statements(old) {
		if s.name == name {
			last = &s
		}
	}
	if last == nil {
		out := old[:len(old):len(old)]
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
			out = append(out, eol...)
		}
		return append(append(out, name+"="+value...), eol...)
	}
	out := append(old[:last.start:last.start], name+"="+value...)
	rest := old[last.end:]
	// An unquoted value runs to the end of its line: what followed a
	// quoted one, but a comment, goes to a line of its own.
	line := rest[:len(rest)-len(bytes.TrimLeft(rest, "\t\v\f "))]
	if after := rest[len(line):]; len(after) > 0 && after[0] != '\r' && after[0] != '\n' && (after[0] != '#' || len(line) == 0) {
		out = append(out, eol...)
	}
	return append(out, rest...)
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
