package clerkapi

import (
	"context"
	"errors"

	"github.com/tidwall/gjson"
)

// Cursor is where a listing stands: the last user id seen (for
// starting_after) and how many users came before (for offset paging).
type Cursor struct {
	After  string `json:"after,omitempty"`
	Offset int    `json:"offset"`
	// Offsets: the instance refused the cursor, so pages go by offset.
	Offsets bool `json:"offsets,omitempty"`
}

// EachPage lists every user from c on, oldest first, one request per page
// of size limit, and calls fn with each page and the cursor after it.
// It pages with starting_after and falls back to offsets when the
// instance refuses the cursor. It stops at the first error of fn.
func (cl *Client) EachPage(ctx context.Context, c Cursor, limit int, fn func(Page, Cursor) error) error {
	for {
		var (
			p   Page
			err error
		)
		if c.Offsets || c.After == "" {
			p, err = cl.UsersAt(ctx, c.Offset, limit)
		} else {
			p, err = cl.UsersAfter(ctx, c.After, limit)
			if errors.Is(err, ErrCursorRefused) {
				c.Offsets = true
				continue
			}
		}
		if err != nil {
			return err
		}
		if len(p) > 0 {
			c.After = gjson.GetBytes(p[len(p)-1], "id").Str
			c.Offset += len(p)
		}
		if err := fn(p, c); err != nil {
			return err
		}
		if len(p) < limit {
			return nil
		}
	}
}
