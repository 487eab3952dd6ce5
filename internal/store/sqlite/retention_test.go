package sqlite_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store/sqlite"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
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
	email, erase := storetest.Erasure(t, st, 50)
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
	if !bytes.Contains(files(), []byte(email)) {
		t.Fatalf("the files do not hold %s before the delete: the test would prove nothing", email)
	}
	erase()
	if bytes.Contains(files(), []byte(email)) {
		t.Fatalf("%s is still in the database files after its user was deleted", email)
	}
}
