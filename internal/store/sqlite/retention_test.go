package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
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
	// The write-ahead log is emptied within a second of the erasure.
	deadline := time.Now().Add(5 * time.Second)
	for bytes.Contains(files(), []byte(email)) {
		if time.Now().After(deadline) {
			t.Fatalf("%s is still in the database files 5 s after its user was deleted", email)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// While deliveries wait for the writer, Prune gives way to them, but it
// still prunes a batch a second: under a load that never pauses it gets
// on.
func TestPruneGivesWayToDeliveries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.db")
	st, err := sqlite.Open(context.Background(), path, mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	prune := func() store.Pruned {
		p, err := st.Prune(context.Background(), store.Cutoffs{}, 10)
		if err != nil {
			t.Error(err)
		}
		return p
	}
	if p := prune(); p.Yielded {
		t.Fatal("an idle writer: Prune gave way")
	}
	lastRun := time.Now()
	// Another connection holds the write lock, so the writer stalls and
	// deliveries queue up behind it.
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	g := fake.New(3, time.Now().Add(-time.Hour))
	var wg sync.WaitGroup
	send := func(id string) {
		ev := g.Created(g.NewUser())
		wg.Go(func() { storetest.Apply(t, st, id, ev) }) //nolint:errcheck // answered once the lock goes
	}
	// The first is taken by the writer, which then waits for the lock; the
	// others wait for the writer.
	send("msg_taken")
	time.Sleep(100 * time.Millisecond)
	for i := range 3 {
		send(fmt.Sprintf("msg_waiting_%d", i))
	}
	time.Sleep(200 * time.Millisecond) // they are queued
	for range 5 {
		if !prune().Yielded {
			t.Fatal("Prune took the writer while deliveries waited, within a second of its last batch")
		}
	}
	// A second after its last batch it prunes all the same: it waits for
	// the writer like a delivery.
	time.Sleep(time.Until(lastRun.Add(1100 * time.Millisecond)))
	ran := make(chan store.Pruned)
	go func() { ran <- prune() }()
	time.Sleep(50 * time.Millisecond)
	if _, err := lock.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if p := <-ran; p.Yielded {
		t.Fatal("Prune still gave way a second after its last batch")
	}
	wg.Wait()
}
