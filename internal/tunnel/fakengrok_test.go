package tunnel

// A tiny fake of ngrok's agent ingress, so that the adapter's failure and
// success paths run offline (TLS + muxado + JSON RPC), enough to
// drive golang.ngrok.com/ngrok/v2 offline: Auth (type 0), Bind (type 1),
// Unbind (type 2), heartbeats (muxado type 0xFFFFFFFF, answered by
// muxado.Heartbeat), and proxying one connection (type 3).

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"golang.ngrok.com/muxado/v2"
)

const (
	reqAuth   = 0
	reqBind   = 1
	reqUnbind = 2
	reqProxy  = 3
)

type fakeServer struct {
	ln       net.Listener
	Pool     *x509.CertPool
	AuthErr  string // non-empty: every Auth is rejected with this message
	BindErr  string // non-empty: every Bind is rejected with this message
	mu       sync.Mutex
	sessions []muxado.TypedStreamSession
	binds    []string // bind IDs
}

func newCert() (tls.Certificate, *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "fake-ngrok"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func startFake(t *testing.T, authErr, bindErr string) *fakeServer {
	cert, pool := newCert()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{ln: ln, Pool: pool, AuthErr: authErr, BindErr: bindErr}
	go f.serve()
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) Addr() string { return f.ln.Addr().String() }
func (f *fakeServer) Close() {
	f.ln.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sessions {
		s.Close()
	}
}

// Drop closes the agent sessions but keeps listening, as when ngrok's
// edge goes away for a moment: the agent reconnects.
func (f *fakeServer) Drop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sessions {
		s.Close()
	}
	f.sessions = nil
}

func (f *fakeServer) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		sess := muxado.NewHeartbeat(muxado.NewTypedStreamSession(muxado.Server(c, &muxado.Config{})), nil, nil)
		f.mu.Lock()
		f.sessions = append(f.sessions, sess)
		f.mu.Unlock()
		go f.handle(sess)
	}
}

func (f *fakeServer) handle(sess *muxado.Heartbeat) {
	for {
		st, err := sess.AcceptTypedStream() // answers heartbeat streams itself
		if err != nil {
			return
		}
		go func() {
			defer st.Close()
			var req map[string]any
			if err := json.NewDecoder(st).Decode(&req); err != nil {
				return
			}
			enc := json.NewEncoder(st)
			switch st.StreamType() {
			case reqAuth:
				if f.AuthErr != "" {
					enc.Encode(map[string]any{"Version": "3", "Error": f.AuthErr})
					return
				}
				enc.Encode(map[string]any{"Version": "3", "ClientId": "fake-client",
					"Extra": map[string]any{"Version": "fake", "Region": "local", "AccountName": "Probe", "PlanName": "Free", "AgentSessionID": "as_fake"}})
			case reqBind:
				if f.BindErr != "" {
					enc.Encode(map[string]any{"Error": f.BindErr})
					return
				}
				opts, _ := req["Opts"].(map[string]any)
				url, _ := opts["URL"].(string)
				if url == "" {
					url = "https://random-words.ngrok-free.app"
				}
				id, _ := req["Id"].(string)
				if id == "" {
					id = "bind_1"
				}
				f.mu.Lock()
				f.binds = append(f.binds, id)
				f.mu.Unlock()
				enc.Encode(map[string]any{"Id": id, "URL": url, "Proto": "https",
					"Opts":  map[string]any{"URL": url, "TrafficPolicy": opts["TrafficPolicy"]},
					"Extra": map[string]any{"Token": "tok", "TunnelID": "tn_fake"}})
			case reqUnbind:
				enc.Encode(map[string]any{})
			}
		}()
	}
}

// Proxy opens a proxy stream on the first session for the first bind and
// returns it as a net.Conn: what is written is what the agent's listener reads.
func (f *fakeServer) Proxy() (net.Conn, error) {
	f.mu.Lock()
	sess, id := f.sessions[len(f.sessions)-1], f.binds[0]
	f.mu.Unlock()
	st, err := sess.OpenTypedStream(reqProxy)
	if err != nil {
		return nil, err
	}
	hdr, _ := json.Marshal(map[string]any{"Id": id, "ClientAddr": "203.0.113.7:5555", "Proto": "https", "EdgeType": "1"})
	binary.Write(st, binary.LittleEndian, int64(len(hdr)))
	st.Write(hdr)
	return st, nil
}
