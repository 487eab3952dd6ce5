package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/syncer"
)

// DefaultMaxBody is the largest body accepted unless configured otherwise.
const DefaultMaxBody = 1 << 20

// Applier applies verified deliveries; *syncer.Syncer is one.
type Applier interface {
	Apply(ctx context.Context, svixID string, body []byte) syncer.Result
}

// Report describes one request to the webhook path, for logs and the
// inspector.
type Report struct {
	Received  time.Time
	SvixID    string
	EventType string
	ID        string // the Clerk id of the user, organization or membership
	UserID    string // the user whose data the body holds
	Verified  bool
	Outcome   string // an store.Outcome, or "rejected"/"failed" before the store
	Reason    string // set when refused or failed
	Error     string
	Status    int
	Latency   time.Duration
	Header    http.Header
	Body      []byte
	Response  []byte // the answer's body
	// AppHeader is the app's answer's headers, in relay mode.
	AppHeader http.Header
}

// Answer is the JSON body of every response.
type Answer struct {
	Outcome string `json:"outcome"`
	SvixID  string `json:"svix_id,omitempty"`
	ID      string `json:"id,omitempty"` // the entity's Clerk id (user_…, org_…, orgmem_…)
	UserID  string `json:"user_id,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Handler serves the webhook path: it refuses what is not a verified
// delivery, then hands the delivery on — to the syncer (NewHandler), or to
// the app's own handler (NewRelay).
type Handler struct {
	verifier    *Verifier
	maxBody     int64
	maxInFlight int64
	bodyTimeout time.Duration
	budget      *budget
	observe     func(Report)
	// deliver answers a verified delivery and fills in the report.
	deliver func(w http.ResponseWriter, r *http.Request, rep *Report)
}

// Options configure a Handler.
type Options struct {
	// MaxBody is the largest accepted body in bytes (DefaultMaxBody if 0).
	MaxBody int64
	// MaxInFlight bounds the bytes of bodies held at once, by all requests
	// together (DefaultMaxInFlight if 0). A request that finds no room is
	// answered 503 with Retry-After, which Svix retries.
	MaxInFlight int64
	// BodyTimeout is how long a body may take to arrive
	// (DefaultBodyTimeout if 0).
	BodyTimeout time.Duration
	// Observe, when set, is called once per request after it is answered:
	// the report carries the cause of any failure, for the log.
	Observe func(Report)
}

// NewHandler returns the handler that applies verified deliveries with a.
func NewHandler(v *Verifier, a Applier, opts Options) *Handler {
	h := newHandler(v, opts)
	h.deliver = func(w http.ResponseWriter, r *http.Request, rep *Report) { h.apply(w, r, a, rep) }
	return h
}

func newHandler(v *Verifier, opts Options) *Handler {
	h := &Handler{verifier: v, maxBody: opts.MaxBody, maxInFlight: opts.MaxInFlight, bodyTimeout: opts.BodyTimeout, observe: opts.Observe}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBody
	}
	if h.maxInFlight <= 0 {
		h.maxInFlight = DefaultMaxInFlight
	}
	if h.bodyTimeout <= 0 {
		h.bodyTimeout = DefaultBodyTimeout
	}
	h.budget = newBudget(h.maxInFlight)
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rep, body := h.serve(w, r)
	// The body's bytes stay taken until the report is handed on: the
	// observer may keep them.
	defer h.release(body)
	if h.observe != nil {
		// The sender has its answer before the log or the inspector,
		// which may be slow, see the report.
		_ = http.NewResponseController(w).Flush()
		rep.Received, rep.Latency, rep.Header = start, time.Since(start), r.Header
		h.observe(rep)
	}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) (Report, *heldBody) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return h.reject(w, Report{}, &Rejection{ReasonMethod, http.StatusMethodNotAllowed, "use POST"}), nil
	}
	svixID, ts, rej := checkHeaders(r.Header)
	rep := Report{SvixID: svixID}
	if rej != nil {
		return h.reject(w, rep, rej), nil
	}
	if r.ContentLength > h.maxBody {
		return h.reject(w, rep, tooLarge(h.maxBody)), nil
	}
	body, rej := h.readBody(w, r)
	if rej != nil {
		// The rest of the body is not read: the connection goes with it.
		w.Header().Set("Connection", "close")
		if rej.Reason == ReasonBusy {
			w.Header().Set("Retry-After", "1")
		}
		return h.reject(w, rep, rej), body
	}
	rep.Body = body.data
	if rej := h.verifier.verify(r.Header, body.data, ts); rej != nil {
		return h.reject(w, rep, rej), body
	}
	rep.Verified = true
	h.deliver(w, r, &rep)
	return rep, body
}

// apply is the sync: the store's outcome, as the contract answers it.
func (h *Handler) apply(w http.ResponseWriter, r *http.Request, a Applier, rep *Report) {
	svixID := rep.SvixID
	res := a.Apply(r.Context(), svixID, rep.Body)
	rep.EventType, rep.ID, rep.UserID, rep.Outcome = res.EventType, res.ID, res.UserID, string(res.Outcome)
	ans := Answer{Outcome: string(res.Outcome), SvixID: svixID, ID: res.ID, UserID: res.UserID}
	switch {
	case res.Err == nil:
		rep.Status = http.StatusOK
	case res.Outcome == store.Rejected:
		rep.Status, rep.Reason = http.StatusBadRequest, ReasonMalformed
	case res.Outcome == store.Failed:
		rep.Status, rep.Reason = http.StatusInternalServerError, ReasonDatabase
	default:
		// Nothing was recorded: Svix will deliver it again.
		rep.Status, rep.Reason, rep.Outcome = http.StatusServiceUnavailable, ReasonUnavailable, string(store.Failed)
		ans.Outcome = rep.Outcome
	}
	if res.Err != nil {
		rep.Error = res.Err.Error()
		ans.Reason, ans.Error = rep.Reason, safeMessage(rep.Reason, res.Err)
	}
	rep.Response = writeJSON(w, rep.Status, ans)
}

func tooLarge(max int64) *Rejection {
	return &Rejection{ReasonTooLarge, http.StatusRequestEntityTooLarge, "body is larger than " + byteSize(max)}
}

// reject answers a request refused before the database, which stores
// nothing.
func (h *Handler) reject(w http.ResponseWriter, rep Report, rej *Rejection) Report {
	rep.Outcome, rep.Reason, rep.Error, rep.Status = string(store.Rejected), rej.Reason, rej.Msg, rej.Status
	rep.Response = writeJSON(w, rej.Status, Answer{Outcome: rep.Outcome, SvixID: rep.SvixID, Reason: rej.Reason, Error: rej.Msg})
	return rep
}

// safeMessage is what the sender may see of an error: the rejection's own
// words, but not the database's internals.
func safeMessage(reason string, err error) string {
	switch reason {
	case ReasonMalformed:
		return err.Error()
	case ReasonDatabase:
		return "the database refused the change; it is recorded as failed"
	default:
		return "the database is unavailable; retry later"
	}
}

// writeJSON answers with v and returns the bytes it wrote.
func writeJSON(w http.ResponseWriter, status int, v any) []byte {
	b, _ := json.Marshal(v) // Answer always marshals
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	// Declared, so that the answer flushed before the handler ends is
	// whole rather than chunked.
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b) //nolint:errcheck // the client may be gone; nothing to do
	return b
}
