package config

import (
	"bytes"
	"maps"
	"regexp"
	"testing"

	"github.com/joho/godotenv"
)

var envSeeds = []string{
	"A=1\nB=\"two\nlines\"\nexport C='x'\n",
	"K=old\r\nA=1\r\n",
	"\uFEFFK=1\n",
	"MY-KEY=1\n",
	"A=\"unterminated\nK=inside\n",
	"OTHER='x\\'\nK=inside'\nK=old\n",
	"K: yaml\n# K=comment\n",
}

// errorForm is every error parseEnvFile may give: the file, the line and
// a fixed sentence, nothing of the contents.
var errorForm = regexp.MustCompile(`^\.env(?: line [0-9]+: (?:column [0-9]+: a variable name may hold only letters, digits, _ and \. and must be followed by = \(NAME=value\)|the value opened with ["'] here is never closed) \(the value is not shown\)|: not a valid \.env file \(the contents are not shown: they may hold secrets\))$`)

// FuzzParseEnvFile: a file parses as godotenv parses it (after a leading
// byte-order mark), or fails with an error that shows none of it.
func FuzzParseEnvFile(f *testing.F) {
	for _, s := range envSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vars, err := parseEnvFile(".env", data)
		if err != nil {
			if !errorForm.MatchString(err.Error()) {
				t.Fatalf("error %q", err)
			}
			return
		}
		want, werr := godotenv.UnmarshalBytes([]byte(trimBOM(string(data))))
		if werr != nil || !maps.Equal(vars, want) {
			t.Fatalf("got %v, godotenv %v %v", vars, want, werr)
		}
	})
}

func trimBOM(s string) string {
	if len(s) >= len(bom) && s[:len(bom)] == bom {
		return s[len(bom):]
	}
	return s
}

// FuzzSetAssignment: setting K in a file that parses changes K and
// nothing else. (godotenv takes a last line without = only at the end of
// the file; such a file is left out, and so is one that refers to $K.)
func FuzzSetAssignment(f *testing.F) {
	for _, s := range envSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, old []byte) {
		if bytes.ContainsRune(old, '$') {
			return // a value that refers to K changes with it
		}
		before, err := godotenv.UnmarshalBytes(old)
		if _, eolErr := godotenv.UnmarshalBytes(append(old[:len(old):len(old)], '\n')); err != nil || eolErr != nil {
			return
		}
		after, err := godotenv.UnmarshalBytes(setAssignment(old, "K", "new"))
		if err != nil {
			t.Fatalf("%q no longer parses: %v", setAssignment(old, "K", "new"), err)
		}
		before["K"] = "new"
		if !maps.Equal(before, after) {
			t.Fatalf("%q became %q:\nwant %v\ngot  %v", old, setAssignment(old, "K", "new"), before, after)
		}
	})
}
