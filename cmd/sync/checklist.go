package main

import (
	"fmt"
	"io"
	"strings"
)

// printChecklist prints, at start, what an endpoint in Clerk's Dashboard
// needs — the way `stripe listen` prints its secret — so that nobody
// waits for a tunnel to learn it. Behind a tunnel, the public URL
// follows once it is up.
func printChecklist(w io.Writer, webhookURL string, events []string, fingerprint, source string, local, tunnel bool) {
	where := "local: Clerk reaches it only through a tunnel, --tunnel or go tool task dev:tunnel"
	if tunnel {
		where = "local; the tunnel's public URL follows once it is up"
	}
	secret := fingerprint + " from " + source
	if local {
		secret += ", generated on this machine: Clerk's deliveries are refused as bad-signature until it is the endpoint's own"
	} else {
		secret += ": it must be the Signing Secret Clerk shows for the endpoint"
	}
	fmt.Fprintf(w, `clerk-sync: the endpoint, for Clerk's Dashboard → Webhooks → Add endpoint:
  Local URL        %s (%s)
  Subscribe to     %s
  Signing Secret   %s
`, webhookURL, where, strings.Join(events, ", "), secret)
}
