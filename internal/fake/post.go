package fake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Response is what a receiver answered to one delivery.
type Response struct {
	Status  int
	Outcome string // the "outcome" of a JSON answer, if any
	Reason  string // its "reason", when refused
	Body    []byte
	Latency time.Duration
}

// Post sends d to url and reads the answer. An error means no complete
// answer came back (network, timeout).
func Post(ctx context.Context, client *http.Client, url string, d Delivery) (Response, error) {
	req, err := d.Request(ctx, url)
	if err != nil {
		return Response{}, err
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return Response{Latency: time.Since(start)}, err // a *url.Error, naming the URL
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	r := Response{Status: resp.StatusCode, Body: body, Latency: time.Since(start)}
	if err != nil {
		return r, fmt.Errorf("POST %s: reading the answer: %w", url, err)
	}
	var ans struct {
		Outcome string `json:"outcome"`
		Reason  string `json:"reason"`
	}
	if json.Unmarshal(body, &ans) == nil {
		r.Outcome, r.Reason = ans.Outcome, ans.Reason
	}
	return r, nil
}
