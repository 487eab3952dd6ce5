package fakeclerk

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// stateFile is what Save writes: the users, oldest first, and the deleted
// users' places for cursors.
type stateFile struct {
	Users   []*User          `json:"users"`
	Deleted map[string]int64 `json:"deleted,omitempty"`
}

// Save writes the instance to path atomically: a reader, or a crash, sees
// the old file or the new one, never half of one. It returns the count of
// writes the file holds (see Changes).
func (in *Instance) Save(path string) (uint64, error) {
	in.mu.RLock()
	st := stateFile{Users: append([]*User(nil), in.created.users...), Deleted: make(map[string]int64, len(in.gone))}
	for id, at := range in.gone {
		st.Deleted[id] = at
	}
	changes := in.changes
	in.mu.RUnlock()
	// Users are never changed once published: encoding them outside the
	// lock is safe and keeps the API answering meanwhile.
	b, err := json.Marshal(st)
	if err != nil {
		return 0, fmt.Errorf("encode the state: %w", err)
	}
	if err := writeAtomic(path, b); err != nil {
		return 0, fmt.Errorf("save the state to %s: %w", path, err)
	}
	return changes, nil
}

// Changes counts the writes so far; a saver compares it with what Save
// returned to know whether the file is behind.
func (in *Instance) Changes() uint64 {
	in.mu.RLock()
	defer in.mu.RUnlock()
	return in.changes
}

func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// 0600: the file holds (fake) personal data, like the sync's database.
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename, there is nothing left to remove
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Load reads an instance saved by Save. A missing file is reported as
// fs.ErrNotExist, so that the caller can start a new instance.
func Load(path string) (*Instance, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("read the state: %w", err)
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("the state file %s is damaged (move it away to start afresh): %w", path, err)
	}
	in := NewInstance()
	for _, u := range st.Users {
		if u == nil || u.ID == "" {
			return nil, fmt.Errorf("the state file %s is damaged (move it away to start afresh): a user without an id", path)
		}
		in.put(u)
	}
	in.created.sort()
	in.updated.sort()
	for id, at := range st.Deleted {
		in.gone[id] = at
	}
	return in, nil
}
