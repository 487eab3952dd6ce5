package config

import (
	"os"
	"regexp"
	"slices"
	"strings"
)

// secretShapes are what a secret looks like wherever it was typed: a Svix
// signing secret, a Clerk secret key, the password of a URL (in its user
// part or a password parameter).
var secretShapes = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`whsec_[A-Za-z0-9+/=_-]+`), "whsec_…"},
	{regexp.MustCompile(`\b(sk|rk)_(live|test)_[A-Za-z0-9]+`), "${1}_${2}_…"},
	{regexp.MustCompile(`(://[^/?#@\s:"]*):[^/?#@\s"]*@`), "${1}:…@"},
	{regexp.MustCompile(`(?i)\b((?:ssl)?password=)[^&\s"]*`), "${1}…"},
}

// minSecret is the shortest value hidden as a secret: shorter ones (an
// empty token, "true") would hide ordinary words.
const minSecret = 6

// Redact hides in s what looks like a secret (see secretShapes).
func Redact(s string) string {
	for _, sh := range secretShapes {
		s = sh.re.ReplaceAllString(s, sh.with)
	}
	return s
}

// Redact hides in s the value of every variable that holds a secret (a
// token, a key …), from the environment or the .env files, and whatever
// looks like a secret (the package's Redact), such as a URL's password.
func (e *Env) Redact(s string) string {
	var values []string
	for _, src := range e.sources() {
		for _, name := range src.names() {
			if v := src.get(name); holdsSecret(name) && len(v) >= minSecret {
				values = append(values, v)
			}
		}
	}
	// The longest first, so that a value inside another is not left half.
	slices.SortFunc(values, func(a, b string) int { return len(b) - len(a) })
	for _, v := range values {
		s = strings.ReplaceAll(s, v, "…")
	}
	return Redact(s)
}

// RedactIn hides secrets in s as Env.Redact does, with the environment
// and the .env files of dir; when those cannot be read, only what looks
// like a secret is hidden.
func RedactIn(dir, s string) string {
	env, err := LoadEnv(dir)
	if err != nil {
		return Redact(s)
	}
	return env.Redact(s)
}

// environNames are the names of the process environment's variables.
func environNames() []string {
	var names []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	return names
}
