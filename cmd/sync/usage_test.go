package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
)

// A mistyped sub-command is a usage mistake (exit 2) that names the
// nearest command.
func TestUnknownCommand(t *testing.T) {
	inTempDir(t)
	for _, tc := range []struct {
		arg  string
		want string
	}{
		{"mirgate", `unknown command "mirgate" for "clerk-sync"; did you mean migrate?`},
		{"docter", "did you mean doctor?"},
		{"extra", `unknown command "extra" for "clerk-sync"; see clerk-sync --help`},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{tc.arg}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tc.arg, code, stderr.String(), tc.want)
		}
	}
}

// Start-up errors say which flag fixes them.
func TestStartupErrorsNameTheFix(t *testing.T) {
	inTempDir(t)
	t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", secret)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", taken.Addr().String()}, "the address is in use (another clerk-sync, or your app?); choose another with --addr"},
		{[]string{"--max-body", "1000", "--max-inflight", "1999"}, "--max-inflight 1999 is less than twice --max-body (1000)"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tc.args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
