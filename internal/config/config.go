// Package config resolves settings the way the toolkit documents: a flag
// given on the command line, else the environment, else .env.local, else
// .env (both read from the working directory, as Next.js does), else the
// default. It is the only place that reads the environment.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// SecretVars are the environment names of the signing secret, in the order
// they are tried: Clerk's current name, then the older one.
var SecretVars = []string{"CLERK_WEBHOOK_SIGNING_SECRET", "CLERK_WEBHOOK_SECRET"}

// Sensitive reports whether the variable called name may hold a secret:
// one that holds a secret whole (holdsSecret), or a URL, which can carry
// a password. Its value must never be shown.
func Sensitive(name string) bool {
	n := strings.ToUpper(name)
	return holdsSecret(n) || strings.Contains(n, "URL") || strings.Contains(n, "DSN") || strings.Contains(n, "FORWARD_TO")
}

// holdsSecret reports whether the value of the variable called name is a
// secret as a whole: a signing secret, a token, a key, a password.
func holdsSecret(name string) bool {
	n := strings.ToUpper(name)
	if strings.Contains(n, "PUBLIC") || strings.Contains(n, "PUBLISHABLE") {
		return false
	}
	for _, s := range []string{"SECRET", "TOKEN", "KEY", "PASSWORD"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// Env looks names up in the process environment, then .env.local, then
// .env.
type Env struct {
	lookup  func(string) (string, bool)
	environ func() []string // the names lookup knows
	files   []envFile
}

type envFile struct {
	name string
	vars map[string]string
}

// LoadEnv reads .env.local and .env from dir. A missing file is fine; a
// file that cannot be parsed is an error naming it and the line, never
// its contents.
func LoadEnv(dir string) (*Env, error) {
	e := &Env{lookup: os.LookupEnv, environ: environNames}
	for _, name := range []string{".env.local", ".env"} {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		vars, err := parseEnvFile(path, data)
		if err != nil {
			return nil, err
		}
		e.files = append(e.files, envFile{name: name, vars: vars})
	}
	return e, nil
}

// NewEnv returns an Env over fixed layers, for tests: vars stands for the
// process environment, files for .env.local then .env.
func NewEnv(vars map[string]string, files ...map[string]string) *Env {
	e := &Env{
		lookup:  func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		environ: func() []string { return slices.Collect(maps.Keys(vars)) },
	}
	for i, f := range files {
		e.files = append(e.files, envFile{name: fmt.Sprintf("file%d", i), vars: f})
	}
	return e
}

// Lookup returns the value of name and where it came from ("environment",
// ".env.local" or ".env"). An empty value counts as unset.
func (e *Env) Lookup(name string) (value, source string) {
	for _, src := range e.sources() {
		if v := src.get(name); v != "" {
			return v, src.name
		}
	}
	return "", ""
}

// ApplyFlags gives every flag in vars (flag name → variable name) that was
// not set on the command line the value of its variable, if any, and marks
// it changed: set by the user, one way or the other. Flags that the set
// does not have are skipped.
func (e *Env) ApplyFlags(flags *pflag.FlagSet, vars map[string]string) error {
	for flag, name := range vars {
		f := flags.Lookup(flag)
		if f == nil || f.Changed {
			continue
		}
		v, source := e.Lookup(name)
		if v == "" {
			continue
		}
		if err := f.Value.Set(v); err != nil {
			if Sensitive(name) {
				// A flag's error may repeat the value.
				return fmt.Errorf("%s (from %s) is not a valid --%s (the value is not shown)", name, source, flag)
			}
			return fmt.Errorf("%s (from %s) is not a valid --%s: %w", name, source, flag, err)
		}
		f.Changed = true
	}
	return nil
}

// Secret returns the signing secret and a description of where it came
// from: the flag when given (a flag on the command line wins, as
// everywhere), else SecretVars by source — the environment, then
// .env.local, then .env — the newer name first within each source.
func (e *Env) Secret(flagValue string) (value, source string) {
	if flagValue != "" {
		return flagValue, "--secret"
	}
	for _, src := range e.sources() {
		for _, name := range SecretVars {
			if v := src.get(name); v != "" {
				return v, name + " (" + src.name + ")"
			}
		}
	}
	return "", ""
}

type source struct {
	name  string
	get   func(string) string
	names func() []string
}

// sources are the places a variable is looked up, in precedence order.
func (e *Env) sources() []source {
	out := []source{{"environment", func(k string) string { v, _ := e.lookup(k); return v }, e.environ}}
	for _, f := range e.files {
		out = append(out, source{f.name, func(k string) string { return f.vars[k] }, func() []string { return slices.Collect(maps.Keys(f.vars)) }})
	}
	return out
}
