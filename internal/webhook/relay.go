package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// Relay reasons.
const (
	ReasonAppTimeout     = "app-timeout"
	ReasonAppUnreachable = "app-unreachable"
)

// OutcomeForwarded is the report's outcome of a relayed delivery; the
// sender gets the app's own answer.
const OutcomeForwarded = "forwarded"

// maxAnswer bounds the app's answer: Svix keeps only a short one anyway.
const maxAnswer = 1 << 20

// ForwardTimeout is Svix's own limit: an answer later than this is a
// failure to it anyway.
const ForwardTimeout = 15 * time.Second

// hopHeaders belong to one connection and are not forwarded.
// Accept-Encoding goes too: with it set, Go's client would hand the app's
// gzipped answer on undecoded.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Accept-Encoding"}

// NewRelay returns the handler that forwards each verified delivery to
// target — the app's own webhook route — byte for byte with its original
// headers, and gives the sender the app's status and body, so that Svix's
// retries reach the app. It writes nothing to a database.
func NewRelay(v *Verifier, target string, client *http.Client, opts Options) *Handler {
	h := newHandler(v, opts)
	if client == nil {
		client = &http.Client{Timeout: ForwardTimeout}
	}
	// A redirect is a failure to Svix: pass it back, do not follow it.
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	client = &c
	h.deliver = func(w http.ResponseWriter, r *http.Request, rep *Report) { forward(w, r, client, target, rep) }
	return h
}

func forward(w http.ResponseWriter, r *http.Request, client *http.Client, target string, rep *Report) {
	// Only what the log and the inspector show: the app decodes the rest.
	f := gjson.GetManyBytes(rep.Body, "type", "data.id")
	rep.EventType = f[0].String()
	if _, _, ok := clerk.KindOf(rep.EventType); ok {
		rep.ID = f[1].String() // the user's, organization's or membership's
	}
	if clerk.IsUserEvent(rep.EventType) {
		rep.UserID = f[1].String()
	}
	rep.Outcome = OutcomeForwarded
	ctx, cancel := context.WithTimeout(r.Context(), ForwardTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(rep.Body))
	if err != nil {
		relayFailed(w, rep, http.StatusBadGateway, ReasonAppUnreachable, err)
		return
	}
	req.Header = r.Header.Clone()
	for _, name := range hopHeaders {
		req.Header.Del(name)
	}
	start := time.Now()
	resp, err := client.Do(req)
	switch {
	case err == nil:
	case r.Context().Err() != nil:
		// The sender's own timeout is shorter than the app's answer.
		relayFailed(w, rep, http.StatusGatewayTimeout, ReasonAppTimeout,
			fmt.Errorf("the sender gave up after %s, before the app answered: %w", time.Since(start).Round(time.Millisecond), err))
		return
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		relayFailed(w, rep, http.StatusGatewayTimeout, ReasonAppTimeout, err)
		return
	default:
		relayFailed(w, rep, http.StatusBadGateway, ReasonAppUnreachable, err)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err == nil && len(body) > maxAnswer {
		err = fmt.Errorf("the app's answer is larger than %s", byteSize(maxAnswer))
	}
	if err != nil {
		relayFailed(w, rep, http.StatusBadGateway, ReasonAppUnreachable, err)
		return
	}
	for _, name := range []string{"Content-Type", "Retry-After"} {
		if v := resp.Header.Get(name); v != "" {
			w.Header().Set(name, v)
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	w.Write(body) //nolint:errcheck // the sender may be gone
	rep.Status, rep.Response, rep.AppHeader = resp.StatusCode, body, resp.Header.Clone()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		rep.Error = "the app answered " + http.StatusText(resp.StatusCode) + ": " + string(body)
	}
}

// relayFailed answers a delivery that the app did not take; the report
// says what the answer says.
func relayFailed(w http.ResponseWriter, rep *Report, status int, reason string, err error) {
	rep.Status, rep.Reason, rep.Error, rep.Outcome = status, reason, err.Error(), string(store.Failed)
	msg := "the app did not answer in time"
	if reason == ReasonAppUnreachable {
		msg = "the app cannot be reached"
	}
	rep.Response = writeJSON(w, status, Answer{Outcome: rep.Outcome, SvixID: rep.SvixID, UserID: rep.UserID, Reason: reason, Error: msg})
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
