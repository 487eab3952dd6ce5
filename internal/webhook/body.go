package webhook

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// DefaultBodyTimeout is how long a body may take to arrive unless
// configured otherwise: Svix sends it at once, a slow sender only holds
// memory and a connection.
const DefaultBodyTimeout = 10 * time.Second

// firstChunk is the buffer a body starts in; it doubles as bytes arrive.
const firstChunk = 16 << 10

// heldBody is a body read under the budget; release gives its bytes back.
type heldBody struct {
	data  []byte
	held  int64
	large bool
}

// readBody reads r's body within the handler's limits: no more than
// maxBody, within bodyTimeout, and growing its buffer only with bytes
// taken from the budget, so a slow sender holds what it sent and no more.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) (*heldBody, *Rejection) {
	rc := http.NewResponseController(w)
	// Not every listener supports deadlines; the server's ReadTimeout is
	// the backstop then.
	_ = rc.SetReadDeadline(time.Now().Add(h.bodyTimeout))
	// A deadline left in place would cancel the request's context once it
	// passes, while the delivery is applied.
	defer rc.SetReadDeadline(time.Time{}) //nolint:errcheck // as above

	declared := r.ContentLength
	b := &heldBody{large: declared < 0 || declared > smallBody}
	limit := h.maxBody + 1 // one byte more tells an undeclared body over the limit
	if declared >= 0 {
		limit = declared
	}
	for int64(len(b.data)) < limit {
		if len(b.data) == cap(b.data) {
			if rej := h.grow(b, limit); rej != nil {
				return b, rej
			}
		}
		n, err := r.Body.Read(b.data[len(b.data):cap(b.data)])
		b.data = b.data[:len(b.data)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return b, readFailed(err, h.bodyTimeout)
		}
	}
	if int64(len(b.data)) > h.maxBody {
		return b, tooLarge(h.maxBody)
	}
	return b, nil
}

// grow doubles b's buffer, up to limit, with bytes from the budget.
func (h *Handler) grow(b *heldBody, limit int64) *Rejection {
	c := int64(cap(b.data))
	next := min(max(2*c, firstChunk), limit)
	if !h.budget.take(next-c, b.large) {
		return &Rejection{ReasonBusy, http.StatusServiceUnavailable, "the receiver holds " + byteSize(h.maxInFlight) + " of bodies in flight; retry later"}
	}
	b.held += next - c
	data := make([]byte, len(b.data), next)
	copy(data, b.data)
	b.data = data
	return nil
}

func (h *Handler) release(b *heldBody) {
	if b != nil {
		h.budget.give(b.held, b.large)
		b.held = 0
	}
}

func readFailed(err error, timeout time.Duration) *Rejection {
	if errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err) {
		return &Rejection{ReasonSlowBody, http.StatusRequestTimeout, "the body did not arrive within " + timeout.String()}
	}
	return &Rejection{ReasonMalformed, http.StatusBadRequest, "reading the body: " + err.Error()}
}
