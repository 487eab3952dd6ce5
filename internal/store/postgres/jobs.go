package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// Job implements store.Jobs.
func (s *Store) Job(ctx context.Context, name string) ([]byte, error) {
	var state []byte
	err := s.pool.QueryRow(ctx, `SELECT state FROM clerk_sync_jobs WHERE name = $1`, name).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, classify("read job "+name, err)
	}
	return state, nil
}

// SaveJob implements store.Jobs.
func (s *Store) SaveJob(ctx context.Context, name string, state []byte) error {
	var err error
	if state == nil {
		_, err = s.pool.Exec(ctx, `DELETE FROM clerk_sync_jobs WHERE name = $1`, name)
	} else {
		_, err = s.pool.Exec(ctx, `
			INSERT INTO clerk_sync_jobs (name, state) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = now()`, name, state)
	}
	if err != nil {
		return classify("save job "+name, err)
	}
	return nil
}
