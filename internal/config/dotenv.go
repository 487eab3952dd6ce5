package config

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/joho/godotenv"
)

// bom is the byte-order mark some Windows editors put at the start of a
// UTF-8 file; Next.js reads such a .env as if it were not there.
const bom = "\uFEFF"

// parseEnvFile parses the contents of the .env file at path. godotenv's
// errors quote the rest of the file, signing secrets and passwords
// included, so they are never passed on: the error names the file, the
// line and what is wrong, and nothing of the contents.
func parseEnvFile(path string, data []byte) (map[string]string, error) {
	data = bytes.TrimPrefix(data, []byte(bom))
	vars, err := godotenv.UnmarshalBytes(data)
	if err == nil {
		return vars, nil
	}
	line, what := locateEnvError(data, err)
	if line == 0 {
		return nil, fmt.Errorf("%s: %s (the contents are not shown: they may hold secrets)", path, what)
	}
	return nil, fmt.Errorf("%s line %d: %s (the value is not shown)", path, line, what)
}

// The beginnings of godotenv's parse errors.
const (
	errBadName      = "unexpected character"
	errUnterminated = "unterminated quoted value "
)

// locateEnvError finds the line of a godotenv parse error in data and says
// what is wrong there; line is 0 for an error it does not know.
func locateEnvError(data []byte, err error) (line int, what string) {
	// godotenv reads CRLF as LF before it parses; its offsets are in that text.
	src := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, errBadName):
		// The message ends with the rest of the file from the bad name on.
		_, quoted, _ := strings.Cut(msg, " near ")
		rest, uerr := strconv.Unquote(quoted)
		if uerr != nil || !bytes.HasSuffix(src, []byte(rest)) {
			break
		}
		at := len(src) - len(rest) + badNameByte(rest)
		return lineOf(src, at), fmt.Sprintf("column %d: a variable name may hold only letters, digits, _ and . and must be followed by = (NAME=value)", columnOf(src, at))
	case strings.HasPrefix(msg, errUnterminated):
		quote := msg[len(errUnterminated)]
		return lineOf(src, lastUnescaped(src, quote)), fmt.Sprintf("the value opened with %c here is never closed", quote)
	}
	return 0, "not a valid .env file"
}

// badNameByte is the offset in stmt of the byte that ended godotenv's
// reading of a name: the rules are its own, a byte taken as a rune.
func badNameByte(stmt string) int {
	for i := 0; i < len(stmt); i++ {
		r := rune(stmt[i])
		switch {
		case r == '=' || r == ':':
			return i
		case r == '_' || r == '.' || isSpace(r) || unicode.IsLetter(r) || unicode.IsNumber(r):
		default:
			return i
		}
	}
	return 0
}

// lastUnescaped is the offset of the last quote byte in src that no
// backslash precedes: an unclosed quote finds no match after it, so it is
// the last one.
func lastUnescaped(src []byte, quote byte) int {
	for i := len(src) - 1; i >= 0; i-- {
		if src[i] == quote && (i == 0 || src[i-1] != '\\') {
			return i
		}
	}
	return 0
}

// lineOf is the 1-based line of the byte at offset.
func lineOf(src []byte, offset int) int { return bytes.Count(src[:offset], []byte("\n")) + 1 }

// columnOf is the 1-based column, in bytes, of the byte at offset.
func columnOf(src []byte, offset int) int { return offset - bytes.LastIndexByte(src[:offset], '\n') }
