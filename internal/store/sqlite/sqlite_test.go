package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/sqlite"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{Open: storetest.SQLite})
}

// The whole suite again, through a mapping into each table exactly as
// Prisma creates it.
func TestConformancePrismaTables(t *testing.T) {
	for _, p := range storetest.PrismaTables(mapping.SQLite) {
		t.Run(p.Name, func(t *testing.T) { storetest.Run(t, p.Harness(storetest.SQLiteWith)) })
	}
}

func TestPrimaryKeyFills(t *testing.T) {
	storetest.RunPrimaryKeyFills(t, mapping.SQLite, storetest.SQLiteWith)
}

func TestSoftDeleteColumns(t *testing.T) {
	storetest.RunSoftDeleteColumns(t, mapping.SQLite, storetest.SQLiteWith)
}

func TestAppTableEdges(t *testing.T) {
	storetest.RunAppTableEdges(t, mapping.SQLite, storetest.SQLiteWith)
}

func TestOpenTwiceKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "again.db")
	for range 2 {
		st, err := sqlite.Open(context.Background(), path, mapping.Default())
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
}

func TestOddFileNames(t *testing.T) {
	for _, name := range []string{"50% off.db", "a#b.db", "what?.db"} {
		path := filepath.Join(t.TempDir(), name)
		st, err := sqlite.Open(context.Background(), path, mapping.Default())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		st.Close()
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%s: not created under its own name: %v", name, err)
		}
		v, err := sqlite.OpenView(context.Background(), path, mapping.Default())
		if err != nil {
			t.Fatalf("view of %s: %v", name, err)
		}
		v.Close()
	}
}

func TestOpenRefusesADirectory(t *testing.T) {
	if _, err := sqlite.Open(context.Background(), t.TempDir(), mapping.Default()); err == nil {
		t.Fatal("opening a directory as the database succeeded")
	}
}

// A view reads the file read-only.
func TestView(t *testing.T) {
	path := filepath.Join(t.TempDir(), "view.db")
	st, err := sqlite.Open(context.Background(), path, mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := sqlite.OpenView(context.Background(), path, mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if users, err := v.Users(context.Background()); err != nil || len(users) != 0 {
		t.Fatalf("users %v, %v", users, err)
	}
	if _, err := sqlite.OpenView(context.Background(), filepath.Join(t.TempDir(), "missing.db"), mapping.Default()); err == nil {
		t.Fatal("a view of a missing file opened")
	}
}

// SQLite ignores the lengths and precisions of declared types: values are
// kept whole, and ids never collapse.
func TestTypeModifiersAreIgnored(t *testing.T) {
	m := mapping.Mapping{
		Table: "people", Model: "People", Key: "clerk_id", OnDelete: store.HardDelete, DeleteAs: mapping.Time,
		Columns: []mapping.Column{
			{Name: "email", Field: mapping.Email, As: mapping.Text},
			{Name: "created", Field: mapping.CreatedAt, As: mapping.Time},
		},
	}
	st, _ := storetest.SQLiteWith(t, m, `CREATE TABLE people ("clerk_id" CHAR(1) PRIMARY KEY, "email" VARCHAR(8), "created" TIMESTAMP(0))`)
	g := fake.New(9, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	var users []*fake.User
	for i := range 3 {
		u := g.NewUser()
		users = append(users, u)
		storetest.MustApply(t, st, fmt.Sprintf("msg_typed_%d", i), g.Created(u))
	}
	if diff := storetest.DiffUsers(storetest.MustUsers(t, st), storetest.Rows(m, users...)); diff != "" {
		t.Fatalf("rows:\n%s", diff)
	}
}

// A change refused for good whose failure cannot be recorded either is
// still failed — never answered as unavailable, which would have Svix
// retry it for a day.
func TestUnrecordableFailureIsPermanent(t *testing.T) {
	st, exec := storetest.SQLite(t, store.HardDelete)
	if err := exec(`CREATE UNIQUE INDEX one_email ON "User" ("email");
		CREATE TRIGGER no_failures BEFORE INSERT ON clerk_sync_deliveries WHEN NEW.outcome = 'failed'
		BEGIN SELECT RAISE(ABORT, 'failures are not recorded here'); END`); err != nil {
		t.Fatal(err)
	}
	g := fake.New(10, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	a, b := g.NewUser(), g.NewUser()
	for len(a.Emails) == 0 {
		a = g.NewUser()
	}
	b.Emails, b.PrimaryID = a.Emails, a.PrimaryID
	storetest.MustApply(t, st, "msg_a", g.Created(a))
	o, err := storetest.Apply(t, st, "msg_b", g.Created(b))
	if o != store.Failed || !errors.Is(err, store.ErrPermanent) {
		t.Fatalf("got %s, %v; want failed, permanent", o, err)
	}
}

// smallDisk mounts a file system of 2 MiB for the test, which needs root:
// elsewhere the test is skipped, but in CI (run as root) it must run.
func smallDisk(t *testing.T) string {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mount a small tmpfs (CI runs as root): %v: %s", err, out)
		}
		t.Skipf("SKIPPED: mounting a small tmpfs needs root: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// Ready means a delivery can be applied: not on a full disk, and again
// once the disk has room.
func TestPingSaysNotReadyWhenWritesFail(t *testing.T) {
	ctx := context.Background()
	dir := smallDisk(t)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "ready.db"), mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}

	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = f.Write(make([]byte, 64<<10))
	}
	f.Close()
	if err := st.Ping(ctx); err == nil || !strings.Contains(err.Error(), "cannot write") {
		t.Fatalf("ping on a full disk: %v, want not ready", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("ping once the disk has room: %v", err)
	}
}
