package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Job implements store.Jobs.
func (s *Store) Job(ctx context.Context, name string) ([]byte, error) {
	var state []byte
	err := s.db.QueryRowContext(ctx, `SELECT state FROM clerk_sync_jobs WHERE name = ?`, name).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read job %s: %w", name, classify(err))
	}
	return state, nil
}

// SaveJob implements store.Jobs.
func (s *Store) SaveJob(ctx context.Context, name string, state []byte) error {
	var err error
	if state == nil {
		_, err = s.db.ExecContext(ctx, `DELETE FROM clerk_sync_jobs WHERE name = ?`, name)
	} else {
		_, err = s.db.ExecContext(ctx, `
			INSERT INTO clerk_sync_jobs (name, state, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
			name, state, time.Now().UnixMilli())
	}
	if err != nil {
		return fmt.Errorf("save job %s: %w", name, classify(err))
	}
	return nil
}
