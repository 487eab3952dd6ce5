package tui

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeEditor makes $EDITOR a script that runs the sed expression on the
// file it is given (or, with expr "fail", exits 1).
func fakeEditor(t *testing.T, expr string) {
	t.Helper()
	script := "#!/bin/sh\nsed -i '" + expr + `' "$1"` + "\n"
	if expr == "fail" {
		script = "#!/bin/sh\nexit 1\n"
	}
	path := filepath.Join(t.TempDir(), "editor")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VISUAL", "")
	t.Setenv("EDITOR", path)
}

// e opens the selected delivery's body in $EDITOR, indented, and sends
// what is saved (compacted) under a new svix-id; an unchanged file or a
// failing editor sends nothing and says so.
func TestEditAndResend(t *testing.T) {
	tests := []struct {
		name, expr string
		resent     []string
		flash      string
	}{
		{"changed", `s/"user.updated"/"user.created"/`, []string{`{"data":{"id":"` + ada + `"},"object":"event","type":"user.created"}`}, "✓ sent the edited body under a new svix-id"},
		{"unchanged", `s/nothing-matches//`, nil, "nothing changed, nothing sent"},
		{"editor fails", "fail", nil, "✗ edit " + svixIDs[1] + ": the editor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakeEditor(t, tt.expr)
			b := &fakeBackend{}
			m := newTestModel(t, b)
			send(m, DeliveriesMsg{delivery(1, "user.updated", ada, "applied")})
			send(m, keys("e")...)
			if len(b.resent) != len(tt.resent) || (len(tt.resent) > 0 && b.resent[0] != tt.resent[0]) {
				t.Errorf("re-sent %q, want %q", b.resent, tt.resent)
			}
			checkText(t, screen(m), []string{tt.flash}, nil)
		})
	}
}
