package fakeclerk

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
)

// Sender queues the webhooks of the instance's writes.
type Sender interface {
	Send(ev Event)
}

// Rate limits of Clerk's Backend API, per instance, in requests per
// RateWindow.
const (
	DevRateLimit  = 100
	ProdRateLimit = 1000
	RateWindow    = 10 * time.Second
)

// APIOptions configure NewAPI.
type APIOptions struct {
	Key       string        // the secret key every request must bear
	RateLimit int           // requests per RateWindow; 0 for none
	Fail      float64       // share of requests answered 500 before doing anything
	Latency   time.Duration // added before every answer
	Seed      uint64        // of the failures
	Webhooks  Sender        // nil: the writes fire no webhooks
	Log       *slog.Logger
}

// API serves the instance's Backend API under /v1.
type API struct {
	in    *Instance
	o     APIOptions
	limit *window
	mux   *http.ServeMux

	mu  sync.Mutex
	rng *rand.Rand
}

// maxBody bounds a write's body; Clerk's user bodies are a few KB.
const maxBody = 1 << 20

// NewAPI returns the HTTP handler of in's Backend API.
func NewAPI(in *Instance, o APIOptions) *API {
	a := &API{in: in, o: o, mux: http.NewServeMux(), rng: rand.New(rand.NewPCG(o.Seed, 0xfa11))}
	if o.RateLimit > 0 {
		a.limit = newWindow(o.RateLimit, RateWindow)
	}
	a.mux.HandleFunc("GET /v1/users", a.list)
	for pattern, h := range map[string]func(*http.Request) ([]byte, error){
		"GET /v1/users/count":   a.count,
		"GET /v1/users/{id}":    a.get,
		"POST /v1/users":        a.create,
		"PATCH /v1/users/{id}":  a.update,
		"DELETE /v1/users/{id}": a.delete,
		"/":                     func(*http.Request) ([]byte, error) { return nil, errNotFound },
	} {
		a.mux.Handle(pattern, handler(h))
	}
	return a
}

// ServeHTTP checks the key, the rate limit and the failure share, in the
// order Clerk would meet them, then routes.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.o.Latency > 0 {
		t := time.NewTimer(a.o.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if err := a.authorize(r.Header.Get("Authorization")); err != nil {
		writeError(w, err)
		return
	}
	if a.limit != nil {
		if wait, ok := a.limit.allow(time.Now()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeError(w, errTooMany)
			return
		}
	}
	if a.failNow() {
		writeError(w, errInternal)
		return
	}
	a.mux.ServeHTTP(w, r)
}

func (a *API) authorize(header string) error {
	key, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || strings.TrimSpace(key) == "" {
		return errHeaderFormat
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(key)), []byte(a.o.Key)) != 1 {
		return errKeyInvalid
	}
	return nil
}

func (a *API) failNow() bool {
	if a.o.Fail <= 0 {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rng.Float64() < a.o.Fail
}

// handler writes what h returns: its JSON with 200, or Clerk's error body.
type handler func(*http.Request) ([]byte, error)

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := h(r)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body) //nolint:errcheck // the client has gone: nothing to tell
}

// writeError writes Clerk's error body. An error that is not one of
// Clerk's is a bug of the fake: 500, with Clerk's body.
func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = errInternal
	}
	entry := map[string]any{"message": e.Message, "long_message": e.LongMessage, "code": e.Code}
	if e.Param != "" {
		entry["meta"] = map[string]string{"param_name": e.Param}
	}
	trace := traceID()
	b, _ := json.Marshal(map[string]any{"errors": []any{entry}, "clerk_trace_id": trace})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Clerk-Trace-Id", trace)
	w.WriteHeader(e.Status)
	w.Write(b) //nolint:errcheck // the client has gone: nothing to tell
}

// pages recycles the buffers of list answers, a megabyte at 500 users.
var pages = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// list answers GET /v1/users. It writes itself, from a recycled buffer,
// since its answers are the largest the API gives.
func (a *API) list(w http.ResponseWriter, r *http.Request) {
	q, err := ParseQuery(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	users, err := a.in.List(q)
	if err != nil {
		writeError(w, err)
		return
	}
	buf := pages.Get().(*bytes.Buffer)
	defer pages.Put(buf)
	buf.Reset()
	buf.WriteByte('[')
	for i, u := range users {
		if i > 0 {
			buf.WriteByte(',')
		}
		u.renderTo(buf)
	}
	buf.WriteByte(']')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes()) //nolint:errcheck // the client has gone: nothing to tell
}

func (a *API) count(r *http.Request) ([]byte, error) {
	q, err := ParseQuery(r.URL.Query())
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"object": "total_count", "total_count": a.in.Count(q)})
}

func (a *API) get(r *http.Request) ([]byte, error) {
	u, err := a.in.Get(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return u.Render(), nil
}

func (a *API) create(r *http.Request) ([]byte, error) {
	c, err := readChanges(r, createFields)
	if err != nil {
		return nil, err
	}
	u, err := a.in.Create(c)
	if err != nil {
		return nil, err
	}
	data := u.Render()
	a.announce(r, Event{Type: clerk.UserCreated, UserID: u.ID, Data: data, Timestamp: u.UpdatedAt})
	return data, nil
}

func (a *API) update(r *http.Request) ([]byte, error) {
	c, err := readChanges(r, updateFields)
	if err != nil {
		return nil, err
	}
	u, err := a.in.Update(r.PathValue("id"), c)
	if err != nil {
		return nil, err
	}
	data := u.Render()
	a.announce(r, Event{Type: clerk.UserUpdated, UserID: u.ID, Data: data, Timestamp: u.UpdatedAt})
	return data, nil
}

func (a *API) delete(r *http.Request) ([]byte, error) {
	id := r.PathValue("id")
	at, err := a.in.Delete(id)
	if err != nil {
		return nil, err
	}
	a.announce(r, Event{Type: clerk.UserDeleted, UserID: id, Data: deletedData(id), Timestamp: at})
	return json.Marshal(map[string]any{"object": "user", "id": id, "deleted": true})
}

func readChanges(r *http.Request, allowed []string) (Changes, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return Changes{}, errBodyInvalid
	}
	return decodeChanges(body, allowed)
}

// announce queues the webhook of a write that has been made.
func (a *API) announce(r *http.Request, ev Event) {
	a.o.Log.Info("write", "type", ev.Type, "user_id", ev.UserID)
	if a.o.Webhooks == nil {
		return
	}
	ev.ClientIP, _, _ = net.SplitHostPort(r.RemoteAddr)
	ev.UserAgent = r.UserAgent()
	a.o.Webhooks.Send(ev)
}

// window is a sliding-window limit: at most len(times) requests in any
// span of size, as Clerk states its limits. It remembers the times of the
// last len(times) requests it let through; a request is refused while the
// oldest of them is younger than size, and told to retry when it ages out.
type window struct {
	mu    sync.Mutex
	size  time.Duration
	times []time.Time // a ring, next is the oldest
	next  int
}

func newWindow(n int, size time.Duration) *window {
	return &window{size: size, times: make([]time.Time, n)}
}

// allow records a request at now if the limit lets it through, and
// otherwise says how long until it would.
func (w *window) allow(now time.Time) (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	oldest := w.times[w.next]
	if age := now.Sub(oldest); !oldest.IsZero() && age < w.size {
		return w.size - age, false
	}
	w.times[w.next] = now
	w.next = (w.next + 1) % len(w.times)
	return 0, true
}
