package sqlite_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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

// The file holds personal data: it is created readable by its owner only,
// whatever the umask, and so are its -wal and -shm files.
func TestDatabaseFilesAreOwnerOnly(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022))
	path := filepath.Join(t.TempDir(), "private.db")
	st, err := sqlite.Open(context.Background(), path, mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g := fake.New(11, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	storetest.MustApply(t, st, "msg_private", g.Created(g.NewUser()))
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(p), mode)
		}
	}
}

// Errors that stop Open say what is wrong with the path and what to do.
func TestOpenSaysWhatToFix(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		filepath.Join(file, "sync.db"):           "is not a directory that exists",
		filepath.Join(dir, "missing", "sync.db"): "is not a directory that exists",
		dir:                                      "is a directory: point --db at a file",
	} {
		if _, err := sqlite.Open(context.Background(), path, mapping.Default()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("open %s: %v, want %q", path, err, want)
		}
	}
}

// asOther names the environment variable that marks the run of
// TestOpenExplainsPermissions as another user; it holds the fixtures'
// directory.
const asOther = "CLERK_SYNC_TEST_PERMISSIONS"

// Permissions do not bind root, who runs the tests in CI: there the test
// runs itself again as the user nobody.
func TestOpenExplainsPermissions(t *testing.T) {
	if base := os.Getenv(asOther); base != "" {
		checkPermissionMessages(t, base)
		return
	}
	base := permissionFixtures(t)
	if os.Geteuid() != 0 {
		checkPermissionMessages(t, base)
		return
	}
	// The test binary sits in a directory only root may enter.
	bin := filepath.Join(base, "sqlite.test")
	exe, err := os.ReadFile(os.Args[0])
	if err == nil {
		err = os.WriteFile(bin, exe, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestOpenExplainsPermissions$", "-test.v")
	cmd.Env = append(os.Environ(), asOther+"="+base)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestOpenExplainsPermissions") {
		t.Fatalf("as the user nobody: %v\n%s", err, out)
	}
}

// permissionFixtures makes, in a directory every user may enter: locked/
// (writable by nobody) holding a database file everyone may write, and
// open/ (writable by all) holding a read-only database file.
func permissionFixtures(t *testing.T) string {
	base, err := os.MkdirTemp("", "clerk-sync-permissions-")
	if err != nil {
		t.Fatal(err)
	}
	locked, open := filepath.Join(base, "locked"), filepath.Join(base, "open")
	t.Cleanup(func() {
		os.Chmod(locked, 0o755) //nolint:errcheck // RemoveAll reports
		if err := os.RemoveAll(base); err != nil {
			t.Error(err)
		}
	})
	for _, p := range []string{locked, open} {
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		st, err := sqlite.Open(context.Background(), filepath.Join(p, "sync.db"), mapping.Default())
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
	for p, mode := range map[string]os.FileMode{
		base: 0o755, open: 0o777, locked: 0o555,
		filepath.Join(locked, "sync.db"): 0o666, filepath.Join(open, "sync.db"): 0o444,
	} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	return base
}

func checkPermissionMessages(t *testing.T, base string) {
	for _, tt := range []struct{ path, want string }{
		{filepath.Join(base, "locked", "new.db"), "the directory " + filepath.Join(base, "locked") + " is not writable by this user"},
		{filepath.Join(base, "locked", "sync.db"), "the directory " + filepath.Join(base, "locked") + " is not writable by this user"},
		{filepath.Join(base, "open", "sync.db"), "sync.db is read-only for this user"},
	} {
		if _, err := sqlite.Open(context.Background(), tt.path, mapping.Default()); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("open %s: %v, want %q", tt.path, err, tt.want)
		}
	}
}

// Prisma's default relationMode: foreign keys and a unique member per
// organization, which doctor warns about; deliveries wait for their
// parents.
func TestPrismaForeignKeys(t *testing.T) {
	storetest.RunPrismaForeignKeys(t, mapping.SQLite, storetest.SQLiteWith)
}
