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

// prefetch is how many pages read ahead wait for fn, beside the one fn
// works on and the one being read, so that the API's budget and the
// database's time overlap.
const prefetch = 2

// EachPage lists every user from c on, oldest first, one request per page
// of size limit, and calls fn with each page and the cursor after it.
// It pages with starting_after and falls back to offsets when the
// instance refuses the cursor. While fn works, up to prefetch pages wait
// and one more is read. It stops at the first error of fn.
func (cl *Client) EachPage(ctx context.Context, c Cursor, limit int, fn func(Page, Cursor) error) error {
	ctx, cancel := context.WithCancel(ctx)
	type fetched struct {
		p   Page
		c   Cursor
		err error
	}
	pages := make(chan fetched, prefetch)
	defer func() {
		cancel()
		for range pages { // the reader's request in flight ends with ctx
		}
	}()
	go func() {
		defer close(pages)
		for {
			p, next, err := cl.page(ctx, c, limit)
			select {
			case pages <- fetched{p, next, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(p) < limit {
				return
			}
			c = next
		}
	}()
	for f := range pages {
		if f.err != nil {
			return f.err
		}
		if err := fn(f.p, f.c); err != nil {
			return err
		}
	}
	return nil
}

// page reads the page at c and returns it with the cursor after it.
func (cl *Client) page(ctx context.Context, c Cursor, limit int) (Page, Cursor, error) {
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
			p, err = cl.UsersAt(ctx, c.Offset, limit)
		}
	}
	if err != nil {
		return nil, c, err
	}
	if len(p) > 0 {
		c.After = gjson.GetBytes(p[len(p)-1], "id").Str
		c.Offset += len(p)
	}
	return p, c, nil
}
