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
}

// A file godotenv cannot parse is reported by file and line, and never
// with its contents: godotenv's own errors quote the rest of the file.
func TestLoadEnvErrorsShowNoContents(t *testing.T) {
	const secret = "whsec_" + "UGxhbnRlZFNlY3JldEJ5/GVzMTIzNA=="
	const password = "pw-Planted-9f3c"
	before := "CLERK_WEBHOOK_SIGNING_SECRET=" + secret + "\n"
	after := "DATABASE_URL=postgres://app:" + password + "@db/app\nNGROK_AUTHTOKEN=" + secret + "\n"
	tests := []struct {
		name, body, want string
	}{
		{"a dash in a name", before + "# fine\nMY-KEY=1\n" + after, ".env line 3: column 3: a variable name may hold only"},
		{"no equals sign", before + "JUSTAWORD\n" + after, ".env line 2: column 10:"},
		{"a stray double quote", before + "A=\"oops\n" + after, `.env line 2: the value opened with " here is never closed`},
		{"a stray single quote", "A='x'\n" + before + "B='oops\n" + after, `.env line 3: the value opened with ' here is never closed`},
		{"CRLF line ends", strings.ReplaceAll(before+"\nMY-KEY=1\n"+after, "\n", "\r\n"), ".env line 3: column 3:"},
		{"a secret pasted alone", before + secret + "\n" + after, ".env line 2: column 27:"},
		{"a byte-order mark inside", before + "\uFEFFB=1\n" + after, ".env line 2: column 2:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadEnv(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "(the value is not shown)") {
				t.Fatalf("err %v; want %q", err, tt.want)
			}
			for _, s := range []string{"UGxhbnRlZFNlY3JldEJ5dGVz", password, "oops", "MY-KEY", "JUSTAWORD"} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("the error shows %q: %v", s, err)
				}
			}
		})
	}
}

// A byte-order mark at the start of the file is skipped, as Next.js does.
func TestLoadEnvByteOrderMark(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".env.local"), []byte("\uFEFFCLERK_SYNC_TEST_BOM=yes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CLERK_SYNC_TEST_BOM", "")
	env, err := LoadEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := env.Lookup("CLERK_SYNC_TEST_BOM"); v != "yes" {
		t.Fatalf("got %q", v)
	}
}

// A variable that may hold a secret is never repeated in ApplyFlags'
// error, even when the flag's own error would repeat it.
func TestApplyFlagsHidesSecrets(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.Int("n", 1, "")
	fs.Duration("d", 0, "")
	env := NewEnv(map[string]string{"MY_TOKEN": "tok-Planted-123", "WAIT": "soon"})
	err := env.ApplyFlags(fs, map[string]string{"n": "MY_TOKEN"})
	if err == nil || strings.Contains(err.Error(), "Planted") || !strings.Contains(err.Error(), "MY_TOKEN (from environment) is not a valid --n (the value is not shown)") {
		t.Fatalf("err %v", err)
	}
	// Others keep the flag's explanation.
	if err := env.ApplyFlags(fs, map[string]string{"d": "WAIT"}); err == nil || !strings.Contains(err.Error(), `"soon"`) {
		t.Fatalf("err %v", err)
	}
	for name, want := range map[string]bool{
		"CLERK_WEBHOOK_SIGNING_SECRET": true, "CLERK_SECRET_KEY": true, "NGROK_AUTHTOKEN": true, "DATABASE_URL": true,
		"PGPASSWORD": true, "CLERK_SYNC_FORWARD_TO": true, "CLERK_SYNC_ADDR": false, "CLERK_SYNC_LOG_LEVEL": false,
		"NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY": false,
	} {
		if Sensitive(name) != want {
			t.Errorf("Sensitive(%s) = %v", name, !want)
		}
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

func TestSetInFile(t *testing.T) {
	tests := []struct {
		name, before, after string
	}{
		{"new file", "", "K=new\n"},
		{"appended", "# keep me\nA=1\n\nB=2", "# keep me\nA=1\n\nB=2\nK=new\n"},
		{"replaced in place", "A=1\nK=old # was here\nKEY2=x\n", "A=1\nK=new\nKEY2=x\n"},
		{"export kept", "  export K=old\nB=2\n", "  export K=new\nB=2\n"},
		{"CRLF kept", "A=1\r\nK=old\r\nB=2\r\n", "A=1\r\nK=new\r\nB=2\r\n"},
		{"CRLF appended", "A=1\r\n", "A=1\r\nK=new\r\n"},
		// The last assignment is the one that counts; the others stay.
		{"only the last", "K=one\nA=1\nK=two\n", "K=one\nA=1\nK=new\n"},
		{"inside another value", "OTHER=\"first\nK=inside\nlast\"\nA=1\n", "OTHER=\"first\nK=inside\nlast\"\nA=1\nK=new\n"},
		{"after another value", "OTHER='x\\'\nK=inside'\nK=old\n", "OTHER='x\\'\nK=inside'\nK=new\n"},
		{"a multi-line value of its own", "K=\"a\nb\"\nA=1\n", "K=new\nA=1\n"},
		{"yaml style", "K: old\n", "K=new\n"},
		{"inside a value with no name", "='0\nK='\n", "='0\nK='\nK=new\n"},
		{"after a quoted value on its line", "A=\"1\" K=\"old\" B=2\n", "A=\"1\" K=new\n B=2\n"},
		{"a comment kept after a quoted value", "K=\"old\" # the secret\n", "K=new # the secret\n"},
		{"byte-order mark", "\uFEFFK=old\n", "\uFEFFK=new\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, ".env.local")
			if tt.before != "" {
				if err := os.WriteFile(path, []byte(tt.before), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := SetInFile(path, "K", "new"); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(path); string(b) != tt.after {
				t.Fatalf("got %q, want %q", b, tt.after)
			}
			env, err := LoadEnv(dir)
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := env.Lookup("K"); v != "new" {
				t.Fatalf("K reads %q", v)
			}
			if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
				t.Fatalf("mode %v", fi.Mode())
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*tmp*")); len(left) > 0 {
				t.Fatalf("left behind: %v", left)
			}
		})
	}
}

// A file godotenv cannot read is left alone: its assignments are unknown.
func TestSetInFileRefusesABrokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env.local")
	const broken = "A=\"unclosed\nK=old\n"
	if err := os.WriteFile(path, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	err := SetInFile(path, "K", "new")
	if err == nil || !strings.Contains(err.Error(), ".env.local line 1: the value opened with \" here is never closed") || !strings.Contains(err.Error(), "fix it before setting K") {
		t.Fatalf("err %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != broken {
		t.Fatalf("changed to %q", b)
	}
}

// The replaced file keeps its mode and owner.
func TestSetInFileKeepsModeAndOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user needs root")
	}
	path := filepath.Join(t.TempDir(), ".env.local")
	if err := os.WriteFile(path, []byte("K=old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 4321, 4322); err != nil {
		t.Fatal(err)
	}
	if err := SetInFile(path, "K", "new"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if uid, gid := owner(fi); uid != 4321 || gid != 4322 || fi.Mode().Perm() != 0o640 {
		t.Fatalf("owner %d:%d, mode %v; want 4321:4322, 0640", uid, gid, fi.Mode())
	}
}

// A link planted where a fixed temporary name would be is never followed.
func TestSetInFilePlantedTempLink(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, ".env.local")
	victim := filepath.Join(elsewhere, "victim")
	if err := os.WriteFile(path, []byte("A=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".env.local.tmp", ".env.local.tmp.1", "..env.local.tmp"} {
		if err := os.Symlink(victim, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := SetInFile(path, "K", "new"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(victim); err == nil {
		b, _ := os.ReadFile(victim)
		t.Fatalf("wrote through the planted link: %q", b)
	}
	if b, _ := os.ReadFile(path); string(b) != "A=1\nK=new\n" {
		t.Fatalf("got %q", b)
	}
}

// A symbolic link stays a link: its target gets the new value.
func TestSetInFileFollowsLink(t *testing.T) {
	dir, shared := t.TempDir(), t.TempDir()
	target := filepath.Join(shared, "dev.env")
	if err := os.WriteFile(target, []byte("A=1\nK=old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, ".env.local")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := SetInFile(link, "K", "new"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(target); string(b) != "A=1\nK=new\n" {
		t.Fatalf("target %q", b)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v", fi.Mode())
	}

	// A link to nothing is refused, not replaced by a file.
	dangling := filepath.Join(dir, ".env")
	if err := os.Symlink(filepath.Join(shared, "missing", "x.env"), dangling); err != nil {
		t.Fatal(err)
	}
	if err := SetInFile(dangling, "K", "new"); err == nil || !strings.Contains(err.Error(), "is a symbolic link whose target cannot be used") {
		t.Fatalf("err %v", err)
	}
	if fi, err := os.Lstat(dangling); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the dangling link was replaced: %v", err)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{`invalid argument "whsec_c2VjcmV0IGJ5dGVz+/==" for "--max-body"`, `invalid argument "whsec_…" for "--max-body"`},
		{"the part after whsec_ is not base64", "the part after whsec_ is not base64"},
		{"secret whsec_…1a2b3c4d", "secret whsec_…1a2b3c4d"},
		{"key sk_live_AbC123 and rk_test_x9", "key sk_live_… and rk_test_…"},
		{`--forward-to "https://relay:hunter2@app.example/hook"`, `--forward-to "https://relay:…@app.example/hook"`},
		{"postgres://app:p%40ss@db/app?sslmode=disable", "postgres://app:…@db/app?sslmode=disable"},
		{"postgres://app@db/app?password=hunter2&sslpassword=x", "postgres://app@db/app?password=…&sslpassword=…"},
		{"postgres://app@db:5432/app", "postgres://app@db:5432/app"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	env := NewEnv(map[string]string{"NGROK_AUTHTOKEN": "2tokenTOKENtoken", "SHORT_TOKEN": "abc", "CLERK_SYNC_ADDR": "localhost:8080"},
		map[string]string{"MY_PASSWORD": "filepassword", "DATABASE_URL": "postgres://u:dbpassword@db/app", "NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY": "pk_test_public"})
	got := env.Redact("token 2tokenTOKENtoken, password filepassword, abc, localhost:8080, whsec_abcd, postgres://u:dbpassword@db/app, pk_test_public")
	if want := "token …, password …, abc, localhost:8080, whsec_…, postgres://u:…@db/app, pk_test_public"; got != want {
		t.Fatalf("Env.Redact = %q, want %q", got, want)
	}
}
