// Package clerkapi reads users from Clerk's Backend API for backfill and
// reconcile: page by page with one request per page, within the
// instance's rate limit, retrying what Clerk asks to be retried. Requests
// go through clerk-sdk-go's Backend (auth, headers, Clerk's error bodies);
// the pages come back as the raw user objects, which are exactly a
// webhook's data.
package clerkapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/clerk/clerk-sdk-go/v2"
	"github.com/tidwall/gjson"
	"golang.org/x/time/rate"
)

// DefaultURL is Clerk's Backend API.
const DefaultURL = "https://api.clerk.com"

// PageSize is the largest page Clerk serves.
const PageSize = 500

// Options tune a Client.
type Options struct {
	// Rate caps requests per second; 0 means DefaultRate.
	Rate float64
	// Retries is how many times a request is retried after a 429, a 5xx or
	// a network error; 0 means 6.
	Retries int
	// HTTPClient, when set, sends the requests.
	HTTPClient *http.Client
	// OnRetry, when set, hears of every retry and how long it waits.
	OnRetry func(err error, wait time.Duration)
}

// DefaultRate is 9 requests a second: under a development instance's
// limit of 100 per 10 seconds, with room for the app's own calls.
const DefaultRate = 9

// Client reads one Clerk instance.
type Client struct {
	backend clerk.Backend
	limiter *rate.Limiter
	retries int
	onRetry func(error, time.Duration)
}

// ErrKey: the secret key is missing or not an sk_test_/sk_live_ key.
var ErrKey = errors.New("bad Clerk secret key")

// New returns a client of the instance whose secret key is key, at base
// (DefaultURL when empty; "/v1" is added when base has no path).
func New(key, base string, opts Options) (*Client, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	api, err := apiURL(base)
	if err != nil {
		return nil, err
	}
	if opts.Rate <= 0 {
		opts.Rate = DefaultRate
	}
	if opts.Retries <= 0 {
		opts.Retries = 6
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if opts.OnRetry == nil {
		opts.OnRetry = func(error, time.Duration) {}
	}
	return &Client{
		backend: clerk.NewBackend(&clerk.BackendConfig{Key: &key, URL: &api, HTTPClient: opts.HTTPClient}),
		limiter: rate.NewLimiter(rate.Limit(opts.Rate), 1),
		retries: opts.Retries,
		onRetry: opts.OnRetry,
	}, nil
}

// CheckKey says whether key looks like a Clerk secret key, without ever
// repeating it.
func CheckKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: none is set", ErrKey)
	case !strings.HasPrefix(key, "sk_test_") && !strings.HasPrefix(key, "sk_live_"):
		return fmt.Errorf("%w: it must start with sk_test_ or sk_live_ (the Dashboard's API keys page has it)", ErrKey)
	case len(key) < len("sk_test_")+8 || strings.ContainsAny(key, " \t\r\n\"'"):
		return fmt.Errorf("%w: it is too short or holds spaces or quotes", ErrKey)
	}
	return nil
}

// apiURL is the SDK's base URL for base: its path is the API version.
func apiURL(base string) (string, error) {
	if base == "" {
		base = DefaultURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("API URL %q: want http(s)://host, e.g. %s", base, DefaultURL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1"
	}
	return u.String(), nil
}

// Page is one page of users, each the raw JSON object Clerk returned.
type Page []json.RawMessage

// Read implements clerk.ResponseReader.
func (*Page) Read(*clerk.APIResponse) {}

// UnmarshalJSON splits the array into its objects with gjson, without
// decoding each again: encoding/json has checked the bytes already, and a
// backfill reads every page of the instance.
func (p *Page) UnmarshalJSON(b []byte) error {
	arr := gjson.ParseBytes(b)
	if !arr.IsArray() {
		return fmt.Errorf("a page of users: want a JSON array, not %.20s", b)
	}
	*p = (*p)[:0]
	arr.ForEach(func(_, v gjson.Result) bool {
		*p = append(*p, json.RawMessage(v.Raw))
		return true
	})
	return nil
}

// ErrCursorRefused: the instance does not take starting_after; page with
// offsets instead.
var ErrCursorRefused = errors.New("the API refused the starting_after cursor")

// UsersAfter returns up to limit users created after the user with id
// after (all from the oldest when after is empty), oldest first: the
// cursor that users created or deleted meanwhile cannot shift.
func (c *Client) UsersAfter(ctx context.Context, after string, limit int) (Page, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}, "order_by": {"+created_at"}}
	if after != "" {
		q.Set("starting_after", after)
	}
	var p Page
	err := c.call(ctx, http.MethodGet, "/users", q, &p)
	var apiErr *clerk.APIErrorResponse
	if after != "" && errors.As(err, &apiErr) && (apiErr.HTTPStatusCode == http.StatusUnprocessableEntity || apiErr.HTTPStatusCode == http.StatusBadRequest) {
		return nil, fmt.Errorf("%w: %v", ErrCursorRefused, err)
	}
	return p, err
}

// UsersAt returns up to limit users from offset on, oldest first.
func (c *Client) UsersAt(ctx context.Context, offset, limit int) (Page, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(offset)}, "order_by": {"+created_at"}}
	var p Page
	return p, c.call(ctx, http.MethodGet, "/users", q, &p)
}

// CountUsers returns how many users the instance has.
func (c *Client) CountUsers(ctx context.Context) (int64, error) {
	var n struct {
		clerk.APIResource
		TotalCount int64 `json:"total_count"`
	}
	err := c.call(ctx, http.MethodGet, "/users/count", nil, &n)
	return n.TotalCount, err
}

// User returns the user with id, or ErrNotFound when Clerk answers 404:
// the only proof that a user is gone.
func (c *Client) User(ctx context.Context, id string) (json.RawMessage, error) {
	var u rawObject
	err := c.call(ctx, http.MethodGet, "/users/"+url.PathEscape(id), nil, &u)
	var apiErr *clerk.APIErrorResponse
	if errors.As(err, &apiErr) && apiErr.HTTPStatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("user %s: %w", id, ErrNotFound)
	}
	return json.RawMessage(u), err
}

// ErrNotFound: Clerk has no such object.
var ErrNotFound = errors.New("not found in Clerk")

type rawObject json.RawMessage

func (*rawObject) Read(*clerk.APIResponse) {}

func (r *rawObject) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

// query is url.Values as the SDK's params.
type query url.Values

func (q query) ToQuery() url.Values                { return url.Values(q) }
func (query) ToMultipart() ([]byte, string, error) { return nil, "", nil }

// call sends one request within the rate limit, retrying 429s after their
// Retry-After, and 5xx answers and network errors with backoff.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, into clerk.ResponseReader) error {
	backoff := 500 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if err := c.limiter.Wait(ctx); err != nil {
			return err
		}
		req := clerk.NewAPIRequest(method, path)
		if q != nil {
			req.SetParams(query(q))
		}
		err := c.backend.Call(ctx, req, into)
		if err == nil {
			return nil
		}
		wait, retry := retryAfter(err, backoff)
		if !retry || attempt >= c.retries || ctx.Err() != nil {
			return describe(method, path, err)
		}
		c.onRetry(describe(method, path, err), wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// retryAfter says whether err is worth another try, and after how long:
// a 429's Retry-After, else backoff.
func retryAfter(err error, backoff time.Duration) (time.Duration, bool) {
	var apiErr *clerk.APIErrorResponse
	if !errors.As(err, &apiErr) {
		return backoff, true // the network, a cut-off body
	}
	switch code := apiErr.HTTPStatusCode; {
	case code == http.StatusTooManyRequests:
		if apiErr.Response != nil {
			if s, err := strconv.Atoi(apiErr.Response.Header.Get("Retry-After")); err == nil && s >= 0 {
				return time.Duration(s)*time.Second + 100*time.Millisecond, true
			}
		}
		return max(backoff, time.Second), true
	case code >= 500:
		return backoff, true
	}
	return 0, false
}

// Error is a refusal from Clerk, in a sentence: Clerk's message and
// code, and what to check.
type Error struct {
	Method, Path string
	Status       int
	Code         string // Clerk's error code, e.g. clerk_key_invalid
	Message      string
	sdk          *clerk.APIErrorResponse
}

func (e *Error) Error() string {
	hint := ""
	if e.Status == http.StatusUnauthorized {
		hint = ": check CLERK_SECRET_KEY (the Dashboard's API keys page) and --api-url"
	}
	return fmt.Sprintf("%s %s: %d %s%s", e.Method, e.Path, e.Status, e.Message, hint)
}

// Unwrap gives the SDK's error, with the whole answer.
func (e *Error) Unwrap() error { return e.sdk }

// describe turns the SDK's error, which prints as the whole JSON answer,
// into an Error; other errors (the network) are wrapped as they are.
func describe(method, path string, err error) error {
	var apiErr *clerk.APIErrorResponse
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	e := &Error{Method: method, Path: path, Status: apiErr.HTTPStatusCode, Message: http.StatusText(apiErr.HTTPStatusCode), sdk: apiErr}
	if len(apiErr.Errors) > 0 {
		first := apiErr.Errors[0]
		e.Code, e.Message = first.Code, first.Message
		if first.LongMessage != "" {
			e.Message = first.LongMessage
		}
		e.Message += " (" + first.Code + ")"
	}
	return e
}
