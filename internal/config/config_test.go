package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestPrecedence(t *testing.T) {
	env := NewEnv(
		map[string]string{"A": "env", "EMPTY": ""},
		map[string]string{"A": "local", "B": "local", "EMPTY": "local"},
		map[string]string{"A": "dotenv", "B": "dotenv", "C": "dotenv"},
	)
	for name, want := range map[string]string{"A": "env", "B": "local", "C": "dotenv", "EMPTY": "local", "D": ""} {
		if got, _ := env.Lookup(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}

	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	a := fs.String("a", "default", "")
	b := fs.String("b", "default", "")
	c := fs.String("c", "default", "")
	fs.Int("n", 1, "")
	if err := fs.Parse([]string{"--a", "flag"}); err != nil {
		t.Fatal(err)
	}
	if err := env.ApplyFlags(fs, map[string]string{"a": "A", "b": "B", "c": "NOPE"}); err != nil {
		t.Fatal(err)
	}
	if *a != "flag" || *b != "local" || *c != "default" {
		t.Fatalf("a=%s b=%s c=%s", *a, *b, *c)
	}
	bad := NewEnv(map[string]string{"N": "many"})
	err := bad.ApplyFlags(fs, map[string]string{"n": "N"})
	if err == nil || !strings.Contains(err.Error(), "N (from environment) is not a valid --n") {
		t.Fatalf("err %v", err)
	}
}

func TestSecret(t *testing.T) {
	both := NewEnv(nil, map[string]string{"CLERK_WEBHOOK_SECRET": "whsec_old", "CLERK_WEBHOOK_SIGNING_SECRET": "whsec_new"})
	if v, src := both.Secret(""); v != "whsec_new" || src != "CLERK_WEBHOOK_SIGNING_SECRET (file0)" {
		t.Fatalf("got %s from %s", v, src)
	}
	if v, src := both.Secret("whsec_flag"); v != "whsec_flag" || src != "--secret" {
		t.Fatalf("got %s from %s", v, src)
	}
	// The environment beats .env.local whatever the names.
	shell := NewEnv(map[string]string{"CLERK_WEBHOOK_SECRET": "whsec_shell"}, map[string]string{"CLERK_WEBHOOK_SIGNING_SECRET": "whsec_file"})
	if v, src := shell.Secret(""); v != "whsec_shell" || src != "CLERK_WEBHOOK_SECRET (environment)" {
		t.Fatalf("got %s from %s", v, src)
	}
	old := NewEnv(map[string]string{"CLERK_WEBHOOK_SECRET": "whsec_old"})
	if v, _ := old.Secret(""); v != "whsec_old" {
		t.Fatalf("got %s", v)
	}
	if v, src := NewEnv(nil).Secret(""); v != "" || src != "" {
		t.Fatalf("got %s from %s", v, src)
	}
}

func TestLoadEnv(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("CLERK_SYNC_TEST_X", "")
	env, err := LoadEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := env.Lookup("CLERK_SYNC_TEST_X"); v != "" {
		t.Fatalf("no files, got %q", v)
	}
	write(".env", "CLERK_SYNC_TEST_X=from-dotenv\nCLERK_SYNC_TEST_Y=y # comment\n")
	write(".env.local", "# local\nCLERK_SYNC_TEST_X=\"from local\"\n")
	env, err = LoadEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v, src := env.Lookup("CLERK_SYNC_TEST_X"); v != "from local" || src != ".env.local" {
		t.Fatalf("got %q from %s", v, src)
	}
	if v, src := env.Lookup("CLERK_SYNC_TEST_Y"); v != "y" || src != ".env" {
		t.Fatalf("got %q from %s", v, src)
	}
	write(".env", "A=\"unterminated\nB\n")
	if _, err := LoadEnv(dir); err == nil || !strings.Contains(err.Error(), ".env") {
		t.Fatalf("err %v, want one naming .env", err)
	}
}

func TestSetInFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env.local")
	if err := SetInFile(path, "K", "one"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "K=one\n" {
		t.Fatalf("new file: %q", b)
	}
	before := "# keep me\nA=1\n\nexport K=old # was here\nKEY2=x\nB=2"
	if err := os.WriteFile(path, []byte(before), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := SetInFile(path, "K", "two"); err != nil {
		t.Fatal(err)
	}
	want := "# keep me\nA=1\n\nK=two\nKEY2=x\nB=2"
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Fatalf("got %q, want %q", b, want)
	}
	if err := SetInFile(path, "C", "3"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != want+"\nC=3\n" {
		t.Fatalf("append: %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v", fi.Mode())
	}

	// A name assigned twice: the last assignment wins when read, so every
	// one is replaced.
	dir := filepath.Dir(path)
	if err := os.WriteFile(path, []byte("K=one\nA=1\nK=two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SetInFile(path, "K", "new"); err != nil {
		t.Fatal(err)
	}
	env, err := LoadEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := env.Lookup("K"); v != "new" {
		b, _ := os.ReadFile(path)
		t.Fatalf("K reads %q after SetInFile, file %q", v, b)
	}
}

func TestLocalSecrets(t *testing.T) {
	t.Setenv("CLERK_SYNC_CACHE_DIR", filepath.Join(t.TempDir(), "cache"))
	if IsLocalSecret("whsec_…aaaa") {
		t.Fatal("known before it was remembered")
	}
	for _, fp := range []string{"whsec_…aaaa", "whsec_…bbbb"} {
		if err := RememberLocalSecret(fp); err != nil {
			t.Fatal(err)
		}
	}
	if !IsLocalSecret("whsec_…aaaa") || !IsLocalSecret("whsec_…bbbb") || IsLocalSecret("whsec_…cccc") {
		t.Fatal("wrong answers")
	}
}
