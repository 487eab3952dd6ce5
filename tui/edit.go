package tui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	tea "charm.land/bubbletea/v2"
)

// Replay with changes (e): the selected delivery's body opens in the
// user's editor, and what they save is signed under a new svix-id and
// sent, as ngrok's inspector does.

// editReadyMsg says the body is in a file for the editor.
type editReadyMsg struct {
	d    Delivery
	path string
	orig []byte // what the file held before the editor
}

// editedMsg says the editor has quit.
type editedMsg struct {
	editReadyMsg
	err error
}

// editor is the user's editor: $VISUAL, else $EDITOR, else vi.
func editor() string {
	for _, v := range []string{"VISUAL", "EDITOR"} {
		if e := os.Getenv(v); e != "" {
			return e
		}
	}
	return "vi"
}

// startEdit writes the selected delivery's body, indented when it is
// JSON, to a temporary file.
func (m *Model) startEdit() tea.Cmd {
	return m.onSelected("edit", func(_ context.Context, _ Backend, d Delivery) tea.Msg {
		if len(d.Body) == 0 {
			return doneMsg{what: "edit " + d.SvixID, err: errors.New("it has no body")}
		}
		text := d.Body
		var pretty bytes.Buffer
		if json.Indent(&pretty, d.Body, "", "  ") == nil {
			text = append(pretty.Bytes(), '\n')
		}
		dir, err := os.MkdirTemp("", "clerk-sync-edit-*")
		if err == nil {
			path := filepath.Join(dir, d.SvixID+".json")
			if err = os.WriteFile(path, text, 0o600); err == nil {
				return editReadyMsg{d: d, path: path, orig: text}
			}
		}
		return doneMsg{what: "edit " + d.SvixID, err: err}
	})
}

// openEditor hands the terminal to the editor until it quits.
func (m *Model) openEditor(msg editReadyMsg) tea.Cmd {
	c := exec.Command("sh", "-c", editor()+` "$1"`, "editor", msg.path)
	return m.exec(c, func(err error) tea.Msg { return editedMsg{msg, err} })
}

// sendEdited sends what the editor saved, signed under a new svix-id; an
// editor that failed, or a file left as it was, sends nothing.
func (m *Model) sendEdited(msg editedMsg) tea.Cmd {
	b := m.backend
	return func() tea.Msg {
		defer os.RemoveAll(filepath.Dir(msg.path))
		what := "edit " + msg.d.SvixID
		if msg.err != nil {
			return doneMsg{what: what, err: fmt.Errorf("the editor (%s) failed: %w; set $EDITOR", editor(), msg.err)}
		}
		body, err := os.ReadFile(msg.path)
		switch {
		case err != nil:
			return doneMsg{what: what, err: err}
		case bytes.Equal(body, msg.orig):
			return doneMsg{ok: "edit: nothing changed, nothing sent (R re-sends it as it is)"}
		case len(bytes.TrimSpace(body)) == 0:
			return doneMsg{ok: "edit: the file was emptied, nothing sent"}
		}
		var compact bytes.Buffer
		if json.Compact(&compact, body) == nil {
			body = compact.Bytes()
		}
		d := msg.d
		d.Body = body
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		return doneMsg{what: what, ok: "sent the edited body under a new svix-id", err: b.Resend(ctx, d)}
	}
}
