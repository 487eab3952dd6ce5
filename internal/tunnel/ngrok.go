package tunnel

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.ngrok.com/ngrok/v2"
)

// DefaultTimeout bounds how long Open waits for ngrok to connect.
const DefaultTimeout = 15 * time.Second

// Ngrok opens an ngrok endpoint inside the process.
//
// ngrok-go retries forever on a bad token or no network and reports the
// failures only as events, so Open watches them and gives up after
// Timeout with the last error and ngrok's code.
type Ngrok struct {
	Token  string
	Domain string // a static domain (name.ngrok-free.app) or URL; empty for a random one
	// Policy is an ngrok traffic policy (YAML), e.g. ClerkPolicy.
	Policy  string
	Timeout time.Duration // DefaultTimeout if 0
	// Log receives ngrok's own log lines; nil discards them. It is not
	// used with a Policy: ngrok logs its requests at debug level, the
	// policy (and the secret in it) included.
	Log *slog.Logger

	// For tests: another ingress, trusted through CAs.
	ConnectURL string
	CAs        *x509.CertPool
}

// ClerkPolicy is the traffic policy that makes ngrok verify Clerk's
// signatures at its edge (it answers 403 to the rest). The secret must be
// the one Clerk shows for the endpoint; a parsed whsec_ secret is base64,
// so it needs no escaping inside the YAML string.
func ClerkPolicy(secret string) string {
	return `on_http_request:
  - actions:
      - type: verify-webhook
        config:
          provider: clerk
          secret: "` + secret + `"
`
}

// Open implements Opener.
func (n *Ngrok) Open(ctx context.Context, status func(Status)) (Tunnel, error) {
	if strings.TrimSpace(n.Token) == "" {
		status(Status{At: time.Now(), State: Failed, Err: ErrNoToken.Error()})
		return nil, ErrNoToken
	}
	timeout := n.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	log := n.Log
	if log == nil || n.Policy != "" {
		log = slog.New(slog.DiscardHandler)
	}
	w := &watcher{status: status}
	opts := []ngrok.AgentOption{
		ngrok.WithAuthtoken(n.Token), // never the package's default agent, which reads NGROK_AUTHTOKEN at init
		ngrok.WithEventHandler(w.event),
		ngrok.WithLogger(log),
		ngrok.WithClientInfo("clerk-sync", "2"),
	}
	if n.ConnectURL != "" {
		opts = append(opts, ngrok.WithAgentConnectURL(n.ConnectURL))
	}
	if n.CAs != nil {
		opts = append(opts, ngrok.WithAgentConnectCAs(n.CAs))
	}
	agent, err := ngrok.NewAgent(opts...)
	if err != nil {
		return nil, fmt.Errorf("ngrok agent: %w", err)
	}
	status(Status{At: time.Now(), State: Connecting})

	// The context given to Connect owns the session for its whole life: a
	// deadline on it would cut a working tunnel, so the timeout is ours.
	session, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- agent.Connect(session) }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err = <-done:
	case <-timer.C:
		stop()
		<-done
		err = fmt.Errorf("gave up after %s", timeout)
	case <-ctx.Done():
		stop()
		<-done
		err = ctx.Err()
	}
	if err != nil {
		stop()
		agent.Disconnect() //nolint:errcheck // already failing
		return nil, w.fail(fmt.Errorf("ngrok could not connect: %w", w.explain(err)))
	}

	var eopts []ngrok.EndpointOption
	if n.Domain != "" {
		eopts = append(eopts, ngrok.WithURL(endpointURL(n.Domain)))
	}
	if n.Policy != "" {
		eopts = append(eopts, ngrok.WithTrafficPolicy(n.Policy))
	}
	ln, err := agent.Listen(session, eopts...)
	if err != nil {
		stop()
		agent.Disconnect() //nolint:errcheck // already failing
		return nil, w.fail(fmt.Errorf("ngrok could not open the endpoint: %w", w.explain(err)))
	}
	t := &ngrokTunnel{EndpointListener: ln, url: ln.URL().String(), close: func() {
		agent.Disconnect() //nolint:errcheck // "session closed" when already gone
		stop()
	}}
	w.up(t.url)
	return t, nil
}

// endpointURL turns a bare domain into the https URL that ngrok expects.
func endpointURL(domain string) string {
	if strings.Contains(domain, "://") {
		return domain
	}
	return "https://" + domain
}

type ngrokTunnel struct {
	ngrok.EndpointListener
	url   string
	once  sync.Once
	close func()
}

func (t *ngrokTunnel) URL() string { return t.url }

func (t *ngrokTunnel) Close() error {
	err := t.EndpointListener.Close()
	t.once.Do(t.close)
	return err
}

// watcher turns ngrok's events into statuses. ngrok calls it on its own
// goroutine.
type watcher struct {
	status func(Status)

	mu      sync.Mutex
	url     string // set once the endpoint is up: connected since
	lastErr error  // the last failure ngrok reported
}

func (w *watcher) event(ev ngrok.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	switch e := ev.(type) {
	case *ngrok.EventAgentConnectSucceeded:
		if w.url != "" {
			w.status(Status{At: now, State: Connected, URL: w.url})
		}
	case *ngrok.EventAgentDisconnected:
		if e.Error == nil {
			w.status(Status{At: now, State: Closed, URL: w.url})
			return
		}
		if errors.Is(e.Error, context.Canceled) {
			return // our own shutdown
		}
		w.lastErr = e.Error
		state := Connecting
		if w.url != "" {
			state = Reconnecting
		}
		w.status(Status{At: now, State: state, URL: w.url, Code: Code(e.Error), Err: e.Error.Error()})
	case *ngrok.EventAgentHeartbeatReceived:
		if w.url != "" {
			w.status(Status{At: now, State: Connected, URL: w.url, Latency: e.Latency})
		}
	}
}

func (w *watcher) up(url string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.url = url
	w.status(Status{At: time.Now(), State: Connected, URL: url})
}

func (w *watcher) fail(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status(Status{At: time.Now(), State: Failed, Code: Code(err), Err: err.Error()})
	return err
}

// explain adds the last failure ngrok reported, and what to do about its
// code, to err.
func (w *watcher) explain(err error) error {
	w.mu.Lock()
	last := w.lastErr
	code := Code(last)
	w.mu.Unlock()
	if c := Code(err); c != "" {
		code = c
	}
	msg := err.Error()
	if last != nil && !strings.Contains(msg, last.Error()) {
		msg += "; last error: " + last.Error()
	}
	if hint := hints[code]; hint != "" {
		msg += " — " + hint
	} else if code == "" && strings.Contains(msg, "failed to dial") {
		msg += " — ngrok's servers cannot be reached: no network, or a firewall (a proxy can be set with HTTPS_PROXY)"
	}
	return &codeError{code: code, msg: msg, err: err}
}

var hints = map[string]string{
	"ERR_NGROK_105":  "the authtoken is malformed: copy it again from https://dashboard.ngrok.com/get-started/your-authtoken",
	"ERR_NGROK_107":  "the authtoken is not valid (revoked, or from another account): https://dashboard.ngrok.com/get-started/your-authtoken",
	"ERR_NGROK_4018": "ngrok needs a verified account and its authtoken: https://dashboard.ngrok.com/signup",
	"ERR_NGROK_320":  "the domain is not reserved on this account: see https://dashboard.ngrok.com/domains, or drop --domain",
	"ERR_NGROK_313":  "only paid plans may choose a custom subdomain: use the account's free static domain (https://dashboard.ngrok.com/domains)",
	"ERR_NGROK_334":  "this domain is already online in another session: stop the other ngrok agent",
	"ERR_NGROK_108":  "the account's agent session limit is reached: stop the other ngrok agent",
}

// codeError carries ngrok's error code.
type codeError struct {
	code, msg string
	err       error
}

func (e *codeError) Error() string {
	if e.code != "" && !strings.Contains(e.msg, e.code) {
		return e.code + ": " + e.msg
	}
	return e.msg
}
func (e *codeError) Unwrap() error { return e.err }

// Code returns ngrok's ERR_NGROK_… code carried by err, or "".
func Code(err error) string {
	var ce *codeError
	if errors.As(err, &ce) && ce.code != "" {
		return ce.code
	}
	var ne ngrok.Error
	if errors.As(err, &ne) {
		return ne.Code()
	}
	// The errors inside ngrok's events have only the older method.
	var ec interface{ ErrorCode() string }
	if errors.As(err, &ec) {
		return ec.ErrorCode()
	}
	return ""
}
