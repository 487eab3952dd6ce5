package fakeclerk

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The same seed gives the same users; another seed, others.
func TestSeedIsDeterministic(t *testing.T) {
	a, b, c := seeded(50).Users(), seeded(50).Users(), NewInstance()
	c.Seed(50, 8)
	for i := range a {
		if !bytes.Equal(a[i].Render(), b[i].Render()) {
			t.Fatalf("user %d differs between two runs of seed 7", i)
		}
	}
	if a[0].ID == c.Users()[0].ID {
		t.Fatal("seeds 7 and 8 made the same first user")
	}
}

// An instance saved and loaded has the same users, in the same order,
// and a deleted user's place for cursors.
func TestStateSurvivesRestart(t *testing.T) {
	in := seeded(200)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	made, err := in.Create(Changes{EmailAddresses: []string{"kept@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	// Updates in another order than creation, so that the two orderings
	// differ.
	for _, i := range []int{150, 3, 90} {
		if _, err := in.Update(in.Users()[i].ID, Changes{FirstName: Field[string]{Set: true, Value: ptr("Renamed")}}); err != nil {
			t.Fatal(err)
		}
	}
	gone := in.Users()[5].ID
	if _, err := in.Delete(gone); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state", "mockclerk-serve.json")
	if _, err := in.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want, got := in.Users(), back.Users()
	if len(got) != len(want) || len(got) != 200 {
		t.Fatalf("%d users back, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(want[i].Render(), got[i].Render()) {
			t.Fatalf("user %d:\n%s\nwant\n%s", i, got[i].Render(), want[i].Render())
		}
	}
	for _, q := range []Query{{Limit: 500, OrderBy: "updated_at", Desc: true}, {Limit: 500, OrderBy: "created_at", StartingAfter: gone}} {
		a, _ := in.List(q)
		b, err := back.List(q)
		if err != nil || len(a) != len(b) {
			t.Fatalf("%+v: %d users, loaded %d (%v)", q, len(a), len(b), err)
		}
		for i := range a {
			if a[i].ID != b[i].ID {
				t.Fatalf("%+v: user %d is %s after loading, %s before", q, i, b[i].ID, a[i].ID)
			}
		}
	}
	if _, err := back.Create(Changes{EmailAddresses: []string{"KEPT@example.com"}}); err == nil {
		t.Errorf("the email of %s is free again after loading", made.ID)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file: %v %v", fi.Mode(), err)
	}
	if matches, _ := filepath.Glob(path + ".*.tmp"); len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "none.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	for name, content := range map[string]string{"broken.json": `{"users":[`, "noid.json": `{"users":[{"first_name":"x"}]}`} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(content), 0o600)
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "damaged (move it away") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }
