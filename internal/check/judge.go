package check

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// Diff is one way the table differs from what Clerk's final state implies.
type Diff struct {
	ID string `json:"id"` // the Clerk id of the row
	// Problem is a sentence; Column, Want and Got are set when one column
	// holds the wrong value.
	Problem string `json:"problem"`
	Column  string `json:"column,omitempty"`
	Want    string `json:"expected,omitempty"`
	Got     string `json:"found,omitempty"`
}

// String is the diff as one line of the report.
func (d Diff) String() string {
	if d.Column != "" {
		return fmt.Sprintf("%s: column %s: expected %s, found %s", d.ID, d.Column, d.Want, d.Got)
	}
	return d.ID + ": " + d.Problem
}

// Compare lists how rows (the whole table of m's kind, as the view reads
// it through m) differ from wants, all of that kind. Rows of other ids are
// not looked at.
func Compare(m mapping.Mapping, wants []Want, rows []store.User) []Diff {
	byID := map[string]store.User{}
	for _, r := range rows {
		byID[r.ClerkID] = r
	}
	noun := string(m.EntityKind())
	var diffs []Diff
	for _, w := range wants {
		got, ok := byID[w.ID]
		switch {
		case w.Deleted && ok && !got.Deleted:
			why := w.Why
			if why == "" {
				why = "Clerk deleted the " + noun
			}
			diffs = append(diffs, Diff{ID: w.ID, Problem: fmt.Sprintf("the row is still there (%s), but %s", summary(m, got), why)})
		case w.Deleted:
		case w.Row == nil && ok:
			diffs = append(diffs, Diff{ID: w.ID, Problem: "a row exists, but " + w.Why})
		case w.Row == nil:
		case !ok:
			diffs = append(diffs, Diff{ID: w.ID, Problem: fmt.Sprintf("no row; expected %s", summary(m, *w.Row))})
		case got.Deleted:
			diffs = append(diffs, Diff{ID: w.ID, Problem: fmt.Sprintf("the row is marked deleted (%s), but the %s exists in Clerk", m.DeleteColumn, noun)})
		default:
			diffs = append(diffs, columns(m, *w.Row, got)...)
		}
	}
	return diffs
}

// columns compares the columns the mapping writes, and the primary key
// when it holds the Clerk id.
func columns(m mapping.Mapping, want, got store.User) []Diff {
	var diffs []Diff
	if m.IDFill == mapping.FillClerkID && m.HasID() && got.ID != want.ClerkID {
		diffs = append(diffs, Diff{ID: want.ClerkID, Problem: "wrong primary key", Column: m.ID, Want: quote(&want.ClerkID), Got: quote(&got.ID)})
	}
	for _, c := range m.Columns {
		w, g := fieldText(want, c.Field), fieldText(got, c.Field)
		if c.As == mapping.Text && c.Field.Kind() == mapping.JSON && w != nil && g != nil {
			// JSON kept as text: any spelling of the same value will do.
			if cw, ok, err := mapping.Canonical(mapping.JSON, *g); err == nil && ok {
				g = &cw
			}
		}
		if !same(w, g) {
			diffs = append(diffs, Diff{ID: want.ClerkID, Problem: "wrong value", Column: c.Name, Want: quote(w), Got: quote(g)})
		}
	}
	return diffs
}

func same(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// fieldText is a row's value of field f as canonical text; nil for NULL.
func fieldText(u store.User, f mapping.Field) *string {
	if s, ok := u.Get(string(f)); ok {
		return &s
	}
	return nil
}

// summary names a row by its email and name (an organization's name, a
// membership's organization, user and role), for a missing or extra row.
func summary(m mapping.Mapping, u store.User) string {
	var parts []string
	for _, c := range m.Columns {
		switch c.Field {
		case mapping.Email, mapping.FirstName, mapping.LastName, mapping.Username,
			mapping.Name, mapping.OrganizationID, mapping.UserID, mapping.Role:
			parts = append(parts, c.Name+"="+quote(fieldText(u, c.Field)))
		}
	}
	if len(parts) == 0 {
		return m.Key + "=" + u.ClerkID
	}
	return strings.Join(parts, " ")
}

// quote shows a value in the report: NULL, or quoted and cut at 60
// characters.
func quote(s *string) string {
	if s == nil {
		return "NULL"
	}
	r := []rune(*s)
	if len(r) > 60 {
		return fmt.Sprintf("%q… (%d characters)", string(r[:60]), len(r))
	}
	return fmt.Sprintf("%q", *s)
}

// judge sets the verdict and reason of res from its deliveries and diffs.
func judge(res *Result) {
	var failures []string
	retried := map[string]int{}
	var retriedOrder []string
	for _, s := range res.Sent {
		n := len(s.Attempts)
		switch {
		case s.ok() && s.Expect == "2xx" && n > 1:
			res.Refused += n - 1
			key := fmt.Sprintf("%s (%s)", s.What, answer(s.Attempts[0]))
			if retried[key] == 0 {
				retriedOrder = append(retriedOrder, key)
			}
			retried[key] += n - 1
		case s.ok():
		case s.Expect == "4xx" && n > 0:
			failures = append(failures, fmt.Sprintf("%s was answered %s: it must be refused with a 4xx", s.What, answer(s.Attempts[n-1])))
		case n == 0:
			failures = append(failures, s.What+" was never sent")
		default:
			failures = append(failures, fmt.Sprintf("%s was refused on all %d attempts (last: %s): Svix gives up on it after about a day, and may disable the endpoint", s.What, n, answer(s.Attempts[n-1])))
		}
	}
	if len(res.Diffs) > 0 {
		rows := map[string]bool{}
		for _, d := range res.Diffs {
			rows[d.ID] = true
		}
		failures = append(failures, fmt.Sprintf("the table is wrong (%d row(s)): %s", len(rows), res.Diffs[0]))
	}
	switch {
	case len(failures) > 0:
		res.Verdict, res.Reason, res.Problems = Fail, failures[0], failures
		if len(failures) > 1 {
			res.Reason += fmt.Sprintf(" (and %d more problem(s))", len(failures)-1)
		}
	case res.Refused > 0:
		var what []string
		for _, k := range retriedOrder {
			what = append(what, fmt.Sprintf("%s ×%d", k, retried[k]))
		}
		res.Verdict = Retries
		res.Reason = fmt.Sprintf("right in the end, but only through retries: %d attempt(s) refused first, %s; in production each waits for Svix's next attempt (5 s, then 5 min, 30 min, 2 h …)",
			res.Refused, strings.Join(what, ", "))
	default:
		res.Verdict = Pass
	}
}

// answer is an attempt's status (with the start of its body) or error.
func answer(a Attempt) string {
	if a.Error != "" {
		return "no answer: " + a.Error
	}
	body := clip(strings.Join(strings.Fields(a.Body), " "), 120)
	if body == "" {
		return fmt.Sprint(a.Status)
	}
	return fmt.Sprintf("%d %s", a.Status, body)
}

// clip cuts s to n bytes at most, at a character boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// explain keeps what a JSON answer says about itself — its outcome,
// reason, error or message, as clerk-sync and most apps answer — and
// returns any other body as it is.
func explain(body string) string {
	if !gjson.Valid(body) || !gjson.Parse(body).IsObject() {
		return body
	}
	var parts []string
	for _, key := range []string{"outcome", "reason", "error", "message"} {
		if v := gjson.Get(body, key); v.Exists() && v.String() != "" {
			parts = append(parts, v.String())
		}
	}
	if len(parts) == 0 {
		return body
	}
	return strings.Join(parts, ": ")
}
