// Package leaktest plants distinctive secrets where the toolkit reads
// them, and finds any of their bytes in what it wrote: for the tests that
// prove no output shows a secret.
package leaktest

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The planted secrets.
const (
	Key         = "PLANTED signing key 0123456789abcdef" // the signing secret, decoded
	NgrokToken  = "2PLANTEDngrokAuthToken_4f1c9e77"
	Password    = "PLANTEDpgPassw0rd" // a DATABASE_URL's
	ClerkKey    = "sk_test_PLANTEDclerkSecretKey42"
	URLPassword = "PLANTEDrelayPassw0rd" // of a URL given on the command line
)

// Secret is the planted signing secret.
var Secret = "whsec_" + base64.StdEncoding.EncodeToString([]byte(Key))

// window is how many consecutive bytes of a secret count as a leak: a
// secret cut short or split across lines is still found.
const window = 10

// Leaks names the planted secrets of which out holds any window bytes.
func Leaks(out string) []string {
	var found []string
	for name, s := range map[string]string{
		"signing secret": strings.TrimPrefix(Secret, "whsec_"), "signing key": Key,
		"NGROK_AUTHTOKEN": NgrokToken, "DATABASE_URL password": Password,
		"CLERK_SECRET_KEY": strings.TrimPrefix(ClerkKey, "sk_test_"), "URL password": URLPassword,
	} {
		for i := 0; i+window <= len(s); i++ {
			if strings.Contains(out, s[i:i+window]) {
				found = append(found, name)
				break
			}
		}
	}
	return found
}

// Check fails the test when out, what the test calls what, shows any
// planted secret.
func Check(t testing.TB, what, out string) {
	t.Helper()
	if found := Leaks(out); len(found) > 0 {
		t.Errorf("%s shows the %s:\n%s", what, strings.Join(found, ", "), out)
	}
}

// WithPassword is the postgres:// URL url with the planted password; a
// server with trust authentication ignores it.
func WithPassword(url string) string {
	return strings.Replace(url, "://postgres@", "://postgres:"+Password+"@", 1)
}

// Plant writes dir/.env.local with every planted secret and dbURL, and
// dir/.env with the signing secret again under its older name.
func Plant(t testing.TB, dir, dbURL string) {
	t.Helper()
	local := fmt.Sprintf("CLERK_WEBHOOK_SIGNING_SECRET=%s\nNGROK_AUTHTOKEN=%s\nCLERK_SECRET_KEY=%s\nDATABASE_URL=%s\n",
		Secret, NgrokToken, ClerkKey, dbURL)
	if err := os.WriteFile(filepath.Join(dir, ".env.local"), []byte(local), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("CLERK_WEBHOOK_SECRET="+Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// BrokenEnvFiles are .env files that cannot be parsed, each with the
// planted secrets around the mistake.
func BrokenEnvFiles() map[string]string {
	secrets := "CLERK_WEBHOOK_SIGNING_SECRET=" + Secret + "\nNGROK_AUTHTOKEN=" + NgrokToken + "\n"
	return map[string]string{
		"a dash in a name":        secrets + "MY-VAR=1\nCLERK_SECRET_KEY=" + ClerkKey + "\n",
		"a stray quote":           "A=\"oops\n" + secrets,
		"a stray single quote":    secrets + "B='oops\nCLERK_SECRET_KEY=" + ClerkKey + "\n",
		"a secret pasted alone":   "A=1\n" + Secret + "\n" + secrets,
		"a token pasted alone":    NgrokToken + "\n" + secrets,
		"a byte-order mark":       secrets + "\uFEFFX=1\n",
		"no equals sign":          "CLERK_WEBHOOK_SIGNING_SECRET " + Secret + "\n",
		"CRLF and a bad name":     strings.ReplaceAll(secrets+"MY VAR\n", "\n", "\r\n"),
		"a secret with a newline": "CLERK_WEBHOOK_SIGNING_SECRET=\"" + Secret + "\n" + NgrokToken,
	}
}
