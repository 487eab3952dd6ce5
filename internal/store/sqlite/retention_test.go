package sqlite_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/sqlite"
)

// After a user.deleted applies, the user's email is in none of the bytes
// of the database: not in the rows, not in the ledger's bodies, not in
// free pages, not in the write-ahead log.
func TestDeletedUserLeavesNoBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "erase.db")
	st, err := sqlite.Open(context.Background(), path, mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g := fake.New(7, time.Now().Add(-time.Hour))
	g.EmailRequired = true
	n := 0
	send := func(ev fake.Event) store.Outcome {
		t.Helper()
		_, c, err := clerk.Parse(ev.Body)
		if err != nil {
			t.Fatal(err)
		}
		n++
		d := store.Delivery{SvixID: fmt.Sprintf("msg_%d", n), Type: ev.Type, UserID: c.UserID, ReceivedAt: time.Now(), Payload: ev.Body}
		o, err := st.Apply(context.Background(), d, *c)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	var doomed *fake.User
	for i := range 50 {
		u := g.NewUser()
		send(g.Created(u))
		send(g.Updated(u))
		if i == 25 {
			doomed = u
		}
	}
	email := []byte(doomed.Emails[len(doomed.Emails)-1].Address)
	files := func() []byte {
		var all []byte
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			b, err := os.ReadFile(path + suffix)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		return all
	}
	if !bytes.Contains(files(), email) {
		t.Fatalf("the files do not hold %s before the delete: the test would prove nothing", email)
	}
	if o := send(g.Deleted(doomed)); o != store.Applied {
		t.Fatalf("user.deleted: %s", o)
	}
	if bytes.Contains(files(), email) {
		t.Fatalf("%s is still in the database files after its user was deleted", email)
	}
}
