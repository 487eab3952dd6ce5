package tui

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// large is delivery n with a body (and answer) over keepBytes.
func large(n int) Delivery {
	d := delivery(n, "user.created", ada, "applied")
	pad := strings.Repeat("x", keepBytes)
	d.Body = []byte(fmt.Sprintf(`{"data":{"id":%q,"pad":%q},"object":"event","type":"user.created"}`, ada, pad))
	d.Response = append([]byte(`{"outcome":"applied"}`), bytes.Repeat([]byte(" "), keepBytes)...)
	return d
}

// The events pane keeps no large body or answer: a flood of them would
// stay in memory. A small body is kept as a copy of its own, so that no
// buffer of the receiver's stays reachable.
func TestRingKeepsNoLargeBodies(t *testing.T) {
	b := &fakeBackend{}
	m := newTestModel(t, b)
	big, small := large(0), delivery(1, "user.updated", ada, "applied")
	smallBody := bytes.Clone(small.Body)
	send(m, DeliveriesMsg{big}, DeliveriesMsg{small})
	small.Body[0] = '!' // the receiver reuses its buffer
	b.history = []store.Record{{Delivery: store.Delivery{SvixID: "msg_older", Payload: big.Body}, Outcome: store.Applied}}
	send(m, keys("o")...)
	es := m.events.Entries()
	if len(es) != 3 {
		t.Fatalf("%d entries, want 3", len(es))
	}
	for _, e := range []*entry{es[0], es[1]} { // the ledger's, then the large delivery
		if e.d.Body != nil || e.droppedBody != len(big.Body) {
			t.Errorf("%s: kept %d bytes of body (dropped %d), want none of %d", e.d.SvixID, len(e.d.Body), e.droppedBody, len(big.Body))
		}
	}
	if es[1].d.Response != nil || es[1].droppedResponse != len(big.Response) {
		t.Errorf("kept %d bytes of the answer, want none", len(es[1].d.Response))
	}
	if !bytes.Equal(es[2].d.Body, smallBody) {
		t.Errorf("small body kept as %q, want %q", es[2].d.Body, smallBody)
	}
}

// A body the pane did not keep is read from the ledger when the delivery
// is opened, copied as curl, replayed or re-sent: the exact signed bytes.
func TestDroppedBodyIsReadFromTheLedger(t *testing.T) {
	big := large(0)
	b := &fakeBackend{bodies: map[string][]byte{big.SvixID: big.Body}}
	m := newTestModel(t, b)
	send(m, DeliveriesMsg{big})

	send(m, keys("enter")...)
	checkText(t, screen(m), nil, []string{"reading it from the ledger"})
	text := stripANSI(strings.Join(m.detail.content(), "\n"))
	checkText(t, text, []string{fmt.Sprintf("Body (%d bytes)", len(big.Body)), `"pad": "xxxx`,
		fmt.Sprintf("not kept: %d bytes, larger than the %d bytes the inspector keeps", len(big.Response), keepBytes)}, nil)

	send(m, keys("y")...)
	if !bytes.Equal(b.curled.Body, big.Body) {
		t.Fatalf("curl was given %d bytes of body, want the %d of the ledger", len(b.curled.Body), len(big.Body))
	}
	send(m, keys("r", "R", "esc")...)
	want := []string{"body " + big.SvixID, "body " + big.SvixID, "curl " + big.SvixID,
		"body " + big.SvixID, "replay " + big.SvixID, "body " + big.SvixID, "resend " + big.SvixID}
	if got := b.Calls(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("calls %q, want %q", got, want)
	}
	if m.events.Entries()[0].d.Body != nil {
		t.Fatal("the body read from the ledger stayed in the ring")
	}
}

// A large body that is not in the ledger (a forgery, refused before the
// database) says so, and copying it says why it cannot.
func TestDroppedBodyNotInTheLedger(t *testing.T) {
	forged := large(2)
	forged.Verified, forged.Outcome, forged.Reason = false, "rejected", "bad-signature"
	b := &fakeBackend{}
	m := newTestModel(t, b)
	send(m, DeliveriesMsg{forged})
	send(m, keys("enter")...)
	checkText(t, stripANSI(strings.Join(m.detail.content(), "\n")),
		[]string{"not kept (larger than 16384 bytes), and not in the ledger: no delivery " + forged.SvixID}, nil)
	send(m, keys("y")...)
	checkText(t, screen(m), []string{fmt.Sprintf("✗ copy %s: the body (%d bytes) was not kept", forged.SvixID, len(forged.Body))}, nil)
}
