package store

import "context"

// Jobs keeps the state of long runs (a backfill's cursor) in the database
// they write, so that a run stopped at any point resumes where it
// committed last. Every Store is one.
type Jobs interface {
	// Job returns the state saved under name, or nil when there is none.
	Job(ctx context.Context, name string) ([]byte, error)
	// SaveJob saves state under name; nil removes it.
	SaveJob(ctx context.Context, name string, state []byte) error
}
