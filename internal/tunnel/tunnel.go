// Package tunnel makes the receiver reachable from the internet, so that
// Clerk's Dashboard can deliver to a laptop: an ngrok endpoint opened
// inside the process (golang.ngrok.com/ngrok/v2), behind a small interface
// that tests satisfy with a local listener.
package tunnel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// State is where a tunnel stands.
type State string

// The states a tunnel goes through.
const (
	Connecting   State = "connecting"   // before the first connection
	Connected    State = "connected"    // public URL serving
	Reconnecting State = "reconnecting" // the connection dropped; ngrok is trying again
	Failed       State = "failed"       // gave up
	Closed       State = "closed"       // shut down
)

// Status is a change of the tunnel's state, or a heartbeat.
type Status struct {
	At      time.Time
	State   State
	URL     string        // the public URL, once known
	Code    string        // ngrok's ERR_NGROK_… of the last failure, if any
	Err     string        // the last failure
	Latency time.Duration // the last heartbeat's round trip
}

// Tunnel is an open public endpoint: the connections it accepts come from
// the internet.
type Tunnel interface {
	net.Listener
	// URL is the public base URL, e.g. https://name.ngrok-free.app.
	URL() string
}

// Opener opens tunnels. status sees every change until the tunnel closes;
// it must not block.
type Opener interface {
	Open(ctx context.Context, status func(Status)) (Tunnel, error)
}

// ErrNoToken: no ngrok authtoken is configured.
var ErrNoToken = errors.New(`no ngrok authtoken: get one at https://dashboard.ngrok.com/get-started/your-authtoken and put NGROK_AUTHTOKEN=… in .env.local (or the environment)`)

// Local is an Opener for tests and offline use: a plain listener on
// 127.0.0.1 that reports the same statuses as a real tunnel.
type Local struct{}

// Open implements Opener.
func (Local) Open(ctx context.Context, status func(Status)) (Tunnel, error) {
	status(Status{At: time.Now(), State: Connecting})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		status(Status{At: time.Now(), State: Failed, Err: err.Error()})
		return nil, fmt.Errorf("local tunnel: %w", err)
	}
	t := &local{Listener: ln, url: "http://" + ln.Addr().String(), status: status}
	status(Status{At: time.Now(), State: Connected, URL: t.url})
	return t, nil
}

type local struct {
	net.Listener
	url    string
	status func(Status)
}

func (l *local) URL() string { return l.url }

func (l *local) Close() error {
	err := l.Listener.Close()
	l.status(Status{At: time.Now(), State: Closed, URL: l.url})
	return err
}
