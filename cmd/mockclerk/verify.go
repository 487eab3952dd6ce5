package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

type verifyCmd struct {
	secret    string
	delivery  string
	payload   string
	id        string
	timestamp string
	signature string
}

func newVerifyCmd(stdout io.Writer) *cobra.Command {
	var c verifyCmd
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check a captured delivery's signature offline and say why it fails",
		Long: `verify checks a delivery you captured (from a log, ngrok's inspector, Clerk's
Dashboard) against a signing secret, without sending anything: it says whether
the signature matches and, if not, what usually causes that.

A delivery file (--delivery @file) is either the raw HTTP request, as ngrok's
inspector or curl -v shows it, or JSON: {"headers": {"svix-id": …}, "body": "…"}.
The body must be the exact bytes that were signed: a body that was parsed and
re-serialised no longer verifies.`,
		Example: `  mockclerk verify --delivery @request.http
  mockclerk verify --secret whsec_… --payload @body.json \
    --id msg_2pQ… --timestamp 1764201600 --signature 'v1,g0hM…'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.run(stdout) },
	}
	fl := cmd.Flags()
	fl.StringVar(&c.secret, "secret", "", "signing secret (default: CLERK_WEBHOOK_SIGNING_SECRET, CLERK_WEBHOOK_SECRET)")
	fl.StringVar(&c.delivery, "delivery", "", "@file holding the captured request (raw HTTP or JSON)")
	fl.StringVar(&c.payload, "payload", "", "the body, or @file")
	fl.StringVar(&c.id, "id", "", "the svix-id header")
	fl.StringVar(&c.timestamp, "timestamp", "", "the svix-timestamp header")
	fl.StringVar(&c.signature, "signature", "", "the svix-signature header")
	return cmd
}

func (c *verifyCmd) run(stdout io.Writer) error {
	env, err := config.LoadEnv(".")
	if err != nil {
		return err
	}
	secret, source, err := webhook.LoadSecret(env, c.secret)
	if err != nil {
		return usageError("%v", err)
	}
	header, body, err := c.load()
	if err != nil {
		return err
	}
	v, err := webhook.NewVerifier(secret)
	if err != nil {
		return err
	}
	id, ts, _ := webhook.Headers(header)
	fmt.Fprintf(stdout, "svix-id %s, svix-timestamp %s, %d-byte body, secret %s (from %s)\n", orNone(id), orNone(ts), len(body), secret.Fingerprint(), source)
	if rej := v.CheckSignature(header, body); rej != nil {
		fmt.Fprintf(stdout, "FAIL %s: %s\n", rej.Reason, rej.Msg)
		if rej.Reason == webhook.ReasonBadSignature {
			fmt.Fprintln(stdout, "Usually one of:")
			for _, c := range webhook.BadSignatureCauses {
				fmt.Fprintln(stdout, "  - "+c)
			}
		}
		return &runFailed{failed: 1}
	}
	fmt.Fprintln(stdout, "ok: the signature matches the body and the secret")
	if rej := webhook.CheckTime(header, time.Now()); rej != nil {
		fmt.Fprintf(stdout, "note: a receiver checking it now would refuse it as %s (%s); Svix re-signs each retry with a fresh timestamp\n", rej.Reason, rej.Msg)
	}
	return nil
}

// load reads the delivery from --delivery, or from the separate flags.
func (c *verifyCmd) load() (http.Header, []byte, error) {
	if c.delivery != "" {
		data, err := readArg(c.delivery)
		if err != nil {
			return nil, nil, err
		}
		return parseCaptured(data)
	}
	if c.payload == "" {
		return nil, nil, usageError("give --delivery @file, or --payload with --id, --timestamp and --signature")
	}
	body, err := readArg(c.payload)
	if err != nil {
		return nil, nil, err
	}
	h := http.Header{}
	for name, v := range map[string]string{"svix-id": c.id, "svix-timestamp": c.timestamp, "svix-signature": c.signature} {
		if v != "" {
			h.Set(name, v)
		}
	}
	return h, body, nil
}

// parseCaptured reads a raw HTTP request or the JSON form.
func parseCaptured(data []byte) (http.Header, []byte, error) {
	trimmed := bytes.TrimSpace(data)
	if bytes.HasPrefix(trimmed, []byte("{")) {
		var j struct {
			Headers map[string]string `json:"headers"`
			Body    json.RawMessage   `json:"body"`
		}
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&j); err != nil {
			return nil, nil, fmt.Errorf("delivery file: want {\"headers\": {…}, \"body\": \"…\"}: %w", err)
		}
		h := http.Header{}
		for k, v := range j.Headers {
			h.Set(k, v)
		}
		var body string
		if err := json.Unmarshal(j.Body, &body); err != nil {
			// An object instead of a string: its bytes are as written in the file.
			return h, j.Body, nil
		}
		return h, []byte(body), nil
	}
	return parseRaw(data)
}

// parseRaw reads a raw HTTP request. Its head may have lost its \r (as
// pasted from a terminal) and is mended for http.ReadRequest; its body is
// kept byte for byte, CRLFs included, and a chunked body is decoded.
func parseRaw(data []byte) (http.Header, []byte, error) {
	head, body := splitHead(data)
	req, err := http.ReadRequest(bufio.NewReader(io.MultiReader(strings.NewReader(head+"\r\n\r\n"), bytes.NewReader(body))))
	if err != nil {
		return nil, nil, fmt.Errorf("delivery file: neither JSON nor a raw HTTP request: %w", err)
	}
	if req.ContentLength > 0 || len(req.TransferEncoding) > 0 {
		decoded, err := io.ReadAll(req.Body)
		switch {
		case err == nil:
			return req.Header, decoded, nil
		case len(req.TransferEncoding) > 0:
			return nil, nil, fmt.Errorf("delivery file: the chunked body is cut or damaged: %w", err)
		}
		// Content-Length says more than the file holds: judge what is there.
	}
	// Without a length the body runs to the end of the file, less the
	// newline that editors add.
	return req.Header, bytes.TrimSuffix(body, []byte("\n")), nil
}

// splitHead cuts a raw request at its first empty line, whether its lines
// end in CRLF or LF, and returns the head with CRLF line ends.
func splitHead(data []byte) (head string, body []byte) {
	var lines []string
	rest := data
	for len(rest) > 0 {
		line, after, _ := bytes.Cut(rest, []byte("\n"))
		rest = after
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 && len(lines) > 0 {
			break
		}
		if len(line) > 0 {
			lines = append(lines, string(line))
		}
	}
	return strings.Join(lines, "\r\n"), rest
}

// readArg reads "@file" (or "@-" for stdin), or returns the value itself.
func readArg(v string) ([]byte, error) {
	name, ok := strings.CutPrefix(v, "@")
	if !ok {
		return []byte(v), nil
	}
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, usageError("%s: no such file", name)
	}
	return b, err
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
