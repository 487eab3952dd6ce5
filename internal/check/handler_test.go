package check_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/clerk-sync/clerk-sync/internal/check"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/load"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/sqlite"
)

const secret = "whsec_" + "Y2hlY2stdGhlLWhhbmRsZXJzLW9mLW90aGVyLWFwcHM="

// appHandler is a webhook handler as an app writes it, after Clerk's
// guide: verify with the svix library, then upsert or delete the row of
// the default "User", "Organization" or "OrganizationMembership" table.
// Without a flaw it does what it must: it keeps each entity's version and
// a tombstone beside the tables, drops a membership of a deleted
// organization or user, deletes an organization's or user's memberships
// with it, and writes in one transaction on one connection. Each flaw is
// one mistake that apps make.
type appHandler struct {
	db   *sql.DB
	wh   *svix.Webhook
	flaw string
}

// The flaws, each in its own handler.
const (
	updateNeedsRow   = "update-needs-row"   // user.updated is an UPDATE that fails without a row (prisma.user.update)
	lastWriteWins    = "last-write-wins"    // upsert whatever arrives: no version check
	noTombstone      = "no-tombstone"       // user.deleted forgets the user: a late event brings it back
	insertOnCreate   = "insert-on-create"   // user.created is a plain INSERT (prisma.user.create)
	uniqueEmail      = "unique-email"       // a unique index on email (@unique)
	emailNotNull     = "email-not-null"     // email is required (String, not String?)
	firstEmail       = "first-email"        // the email is email_addresses[0]
	truncateNames    = "truncate-names"     // names cut to 24 bytes, splitting characters
	bodyLimit        = "body-limit"         // reads at most 8 KiB of the body
	errorOnUnknown   = "error-on-unknown"   // 400 for event types it does not handle
	noVerify         = "no-verify"          // trusts any body
	noTimestampCheck = "no-timestamp-check" // verifies the signature but not its age
	svixHeadersOnly  = "svix-headers-only"  // reads only the svix-* header names
	noDelete         = "no-delete"          // answers user.deleted 200 and does nothing

	orgNoDelete            = "org-no-delete"            // answers organization.deleted 200 and does nothing
	noCascade              = "no-cascade"               // organization.deleted leaves the organization's memberships
	memberIgnoresTombstone = "member-ignores-tombstone" // a membership event is written though its organization is deleted
	memberLastWriteWins    = "member-last-write-wins"   // upsert whatever membership arrives: no version check
	foreignKeys            = "foreign-keys"             // memberships reference Organization and User (Prisma's default relations)
	memberNeedsOrg         = "member-needs-org"         // answers 200 and drops a membership whose organization has no row yet

	// clerkGuide is the handler most apps start from: prisma.user.create,
	// update and delete as the events come, the first address as the
	// email, and email @unique.
	clerkGuide = insertOnCreate + "," + updateNeedsRow + "," + lastWriteWins + "," + noTombstone + "," + firstEmail + "," + uniqueEmail
)

type clerkUser struct {
	ID             string  `json:"id"`
	FirstName      *string `json:"first_name"`
	LastName       *string `json:"last_name"`
	Username       *string `json:"username"`
	ImageURL       *string `json:"image_url"`
	PrimaryEmailID *string `json:"primary_email_address_id"`
	EmailAddresses []struct {
		ID           string `json:"id"`
		EmailAddress string `json:"email_address"`
	} `json:"email_addresses"`
	CreatedAt int64 `json:"created_at"`
	UpdatedAt int64 `json:"updated_at"`
}

func (h *appHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	limit := int64(1 << 20)
	if h.has(bodyLimit) {
		limit = 8 << 10
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, limit))
	var err error
	switch {
	case h.has(svixHeadersOnly) && r.Header.Get("svix-id") == "":
		err = errors.New("missing svix headers")
	case h.has(noVerify):
	case h.has(noTimestampCheck):
		err = h.wh.VerifyIgnoringTimestamp(body, r.Header)
	default:
		err = h.wh.Verify(body, r.Header)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var evt struct {
		Type      string          `json:"type"`
		Timestamp int64           `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	var u clerkUser
	if err := json.Unmarshal(body, &evt); err != nil || json.Unmarshal(evt.Data, &u) != nil {
		http.Error(w, "not an event", http.StatusBadRequest)
		return
	}
	switch evt.Type {
	case "user.created", "user.updated":
		err = h.upsert(r.Context(), evt.Type, u)
	case "user.deleted":
		err = h.delete(r.Context(), u.ID, evt.Timestamp)
	case "organization.created", "organization.updated":
		err = h.upsertOrg(r.Context(), evt.Data)
	case "organization.deleted":
		err = h.deleteOrg(r.Context(), u.ID, evt.Timestamp)
	case "organizationMembership.created", "organizationMembership.updated":
		err = h.upsertMember(r.Context(), evt.Data)
	case "organizationMembership.deleted":
		err = h.deleteMember(r.Context(), u.ID, evt.Timestamp)
	default:
		if h.has(errorOnUnknown) {
			http.Error(w, "unknown event "+evt.Type, http.StatusBadRequest)
			return
		}
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	io.WriteString(w, `{"ok":true}`)
}

// has reports whether the handler has flaw f; a handler may have several,
// comma-separated.
func (h *appHandler) has(f string) bool { return slices.Contains(strings.Split(h.flaw, ","), f) }

// state is the user's version and tombstone, if known.
func state(ctx context.Context, tx *sql.Tx, id string) (version int64, deleted, known bool, err error) {
	err = tx.QueryRowContext(ctx, `SELECT version, deleted FROM versions WHERE id = ?`, id).Scan(&version, &deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, false, nil
	}
	return version, deleted, err == nil, err
}

func (h *appHandler) upsert(ctx context.Context, typ string, u clerkUser) error {
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	version, deleted, known, err := state(ctx, tx, u.ID)
	if err != nil || deleted {
		return err
	}
	plainInsert := typ == "user.created" && h.has(insertOnCreate)
	if known && version >= u.UpdatedAt && !h.has(lastWriteWins) && !plainInsert {
		return nil // stale
	}
	var email *string
	for i, e := range u.EmailAddresses {
		if (h.has(firstEmail) && i == 0) || (!h.has(firstEmail) && u.PrimaryEmailID != nil && e.ID == *u.PrimaryEmailID) {
			email = &e.EmailAddress
			break
		}
	}
	first, last := u.FirstName, u.LastName
	if h.has(truncateNames) {
		first, last = cut(first), cut(last)
	}
	args := []any{u.ID, u.ID, email, first, last, u.Username, u.ImageURL, u.CreatedAt, u.UpdatedAt}
	const insert = `INSERT INTO "User" (id, "clerkId", email, "firstName", "lastName", username, "imageUrl", "createdAt", "updatedAt") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	switch {
	case plainInsert:
		_, err = tx.ExecContext(ctx, insert, args...)
	case typ == "user.updated" && h.has(updateNeedsRow):
		var res sql.Result
		res, err = tx.ExecContext(ctx, `UPDATE "User" SET email = ?, "firstName" = ?, "lastName" = ?, username = ?, "imageUrl" = ?, "updatedAt" = ? WHERE "clerkId" = ?`,
			email, first, last, u.Username, u.ImageURL, u.UpdatedAt, u.ID)
		if err == nil {
			if n, _ := res.RowsAffected(); n == 0 {
				err = fmt.Errorf("no user %s to update", u.ID)
			}
		}
	default:
		_, err = tx.ExecContext(ctx, insert+` ON CONFLICT ("clerkId") DO UPDATE SET email = excluded.email, "firstName" = excluded."firstName",
			"lastName" = excluded."lastName", username = excluded.username, "imageUrl" = excluded."imageUrl", "updatedAt" = excluded."updatedAt"`, args...)
	}
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO versions (id, version, deleted) VALUES (?, ?, 0)
		ON CONFLICT (id) DO UPDATE SET version = excluded.version`, u.ID, u.UpdatedAt); err != nil {
		return err
	}
	return tx.Commit()
}

func (h *appHandler) delete(ctx context.Context, id string, ts int64) error {
	if h.has(noDelete) {
		return nil
	}
	return h.tombstone(ctx, id, ts, h.has(noTombstone), `DELETE FROM "OrganizationMembership" WHERE "userId" = ?`, `DELETE FROM "User" WHERE "clerkId" = ?`)
}

type clerkOrg struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	Slug           *string         `json:"slug"`
	ImageURL       *string         `json:"image_url"`
	CreatedBy      *string         `json:"created_by"`
	PublicMetadata json.RawMessage `json:"public_metadata"`
	CreatedAt      int64           `json:"created_at"`
	UpdatedAt      int64           `json:"updated_at"`
}

type clerkMember struct {
	ID           string `json:"id"`
	Role         string `json:"role"`
	Organization struct {
		ID string `json:"id"`
	} `json:"organization"`
	PublicUserData struct {
		UserID string `json:"user_id"`
	} `json:"public_user_data"`
	CreatedAt int64 `json:"created_at"`
	UpdatedAt int64 `json:"updated_at"`
}

// write runs q in a transaction and records id's version, unless id or
// one of its parents is tombstoned, or its version is not older and the
// check is on.
func (h *appHandler) write(ctx context.Context, id string, parents []string, version int64, checkVersion bool, q string, args ...any) error {
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, p := range parents {
		if _, deleted, _, err := state(ctx, tx, p); err != nil || deleted {
			return err
		}
	}
	stored, deleted, known, err := state(ctx, tx, id)
	if err != nil || deleted || (checkVersion && known && stored >= version) {
		return err
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO versions (id, version, deleted) VALUES (?, ?, 0)
		ON CONFLICT (id) DO UPDATE SET version = excluded.version`, id, version); err != nil {
		return err
	}
	return tx.Commit()
}

func (h *appHandler) upsertOrg(ctx context.Context, data []byte) error {
	var o clerkOrg
	if err := json.Unmarshal(data, &o); err != nil {
		return err
	}
	return h.write(ctx, o.ID, nil, o.UpdatedAt, true, `INSERT INTO "Organization" (id, "clerkId", name, slug, "imageUrl", "createdBy", "publicMetadata", "createdAt", "updatedAt")
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("clerkId") DO UPDATE SET name = excluded.name, slug = excluded.slug, "imageUrl" = excluded."imageUrl",
		"createdBy" = excluded."createdBy", "publicMetadata" = excluded."publicMetadata", "updatedAt" = excluded."updatedAt"`,
		o.ID, o.ID, o.Name, o.Slug, o.ImageURL, o.CreatedBy, string(o.PublicMetadata), o.CreatedAt, o.UpdatedAt)
}

func (h *appHandler) upsertMember(ctx context.Context, data []byte) error {
	var m clerkMember
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	if h.has(memberNeedsOrg) {
		var n int
		if err := h.db.QueryRowContext(ctx, `SELECT count(*) FROM "Organization" WHERE "clerkId" = ?`, m.Organization.ID).Scan(&n); err != nil || n == 0 {
			return err
		}
	}
	// A membership of a deleted organization or user is never written:
	// no membership event may follow the deletion that removed it.
	parents := []string{m.Organization.ID, m.PublicUserData.UserID}
	if h.has(memberIgnoresTombstone) {
		parents = nil
	}
	return h.write(ctx, m.ID, parents, m.UpdatedAt, !h.has(memberLastWriteWins), `INSERT INTO "OrganizationMembership" (id, "clerkId", "organizationId", "userId", role, "createdAt", "updatedAt")
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("clerkId") DO UPDATE SET "organizationId" = excluded."organizationId", "userId" = excluded."userId",
		role = excluded.role, "updatedAt" = excluded."updatedAt"`,
		m.ID, m.ID, m.Organization.ID, m.PublicUserData.UserID, m.Role, m.CreatedAt, m.UpdatedAt)
}

// tombstone deletes the rows that qs name by id and tombstones id (or,
// with forget, drops what it knew of id), in one transaction.
func (h *appHandler) tombstone(ctx context.Context, id string, ts int64, forget bool, qs ...string) error {
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range qs {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	tomb := `INSERT INTO versions (id, version, deleted) VALUES (?, ?, 1) ON CONFLICT (id) DO UPDATE SET version = excluded.version, deleted = 1`
	if forget {
		tomb = `DELETE FROM versions WHERE id = ? AND ? IS NOT NULL`
	}
	if _, err := tx.ExecContext(ctx, tomb, id, ts); err != nil {
		return err
	}
	return tx.Commit()
}

func (h *appHandler) deleteOrg(ctx context.Context, id string, ts int64) error {
	switch {
	case h.has(orgNoDelete):
		return nil
	case h.has(noCascade):
		return h.tombstone(ctx, id, ts, false, `DELETE FROM "Organization" WHERE "clerkId" = ?`)
	}
	return h.tombstone(ctx, id, ts, false, `DELETE FROM "OrganizationMembership" WHERE "organizationId" = ?`, `DELETE FROM "Organization" WHERE "clerkId" = ?`)
}

func (h *appHandler) deleteMember(ctx context.Context, id string, ts int64) error {
	return h.tombstone(ctx, id, ts, false, `DELETE FROM "OrganizationMembership" WHERE "clerkId" = ?`)
}

// cut keeps the first 24 bytes, as a VARCHAR counted in bytes would.
func cut(s *string) *string {
	if s == nil || len(*s) <= 24 {
		return s
	}
	c := (*s)[:24]
	return &c
}

// serveApp starts a handler with flaw on a new SQLite file and returns its
// URL and the file.
func serveApp(t *testing.T, flaw string) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.db")
	// No fsync: sixteen handlers write at once, and durability is not what
	// is tested.
	h := &appHandler{flaw: flaw}
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)"
	if h.has(foreignKeys) {
		dsn += "&_pragma=foreign_keys(1)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	members := mapping.DefaultMemberships().DDL(mapping.SQLite, false)
	if h.has(foreignKeys) {
		members = strings.Replace(members, `"deletedAt" DATETIME`, `"deletedAt" DATETIME,
    FOREIGN KEY ("organizationId") REFERENCES "Organization"("clerkId"),
    FOREIGN KEY ("userId") REFERENCES "User"("clerkId")`, 1)
	}
	ddl := mapping.Default().DDL(mapping.SQLite, false) + ";" + mapping.DefaultOrganizations().DDL(mapping.SQLite, false) + ";" + members
	if h.has(uniqueEmail) {
		ddl += `; CREATE UNIQUE INDEX "User_email_key" ON "User"("email")`
	}
	if h.has(emailNotNull) {
		ddl = strings.Replace(ddl, `"email" TEXT,`, `"email" TEXT NOT NULL,`, 1)
	}
	for _, q := range []string{ddl, `CREATE TABLE versions (id TEXT PRIMARY KEY, version INTEGER NOT NULL, deleted BOOLEAN NOT NULL)`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	wh, err := svix.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	h.db, h.wh = db, wh
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/webhooks/clerk", path
}

// runCheck runs the whole suite against the handler at url, whose table
// is the SQLite file at path.
func runCheck(url, path string) (map[string]check.Result, error) {
	ctx := context.Background()
	view, err := sqlite.OpenView(ctx, path, mapping.Default())
	if err != nil {
		return nil, err
	}
	defer view.Close()
	signer, err := fake.NewSigner(secret)
	if err != nil {
		return nil, err
	}
	cases := check.Cases()
	tables := map[store.Kind]store.View{}
	for _, kind := range []store.Kind{store.KindOrganization, store.KindMembership} {
		m, _ := mapping.Default().For(kind)
		v, err := sqlite.OpenView(ctx, path, m)
		if err != nil {
			return nil, err
		}
		defer v.Close()
		tables[kind] = v
	}
	results, err := check.Run(ctx, check.Config{
		URL: url, Client: load.Client(32, 15*time.Second), Signer: signer, Schedule: check.SvixFast,
		View: view, Tables: tables, Mapping: mapping.Default(), Parallel: len(cases), Seed: uint64(time.Now().UnixNano()),
	}, cases)
	byName := map[string]check.Result{}
	for _, r := range results {
		byName[r.Case] = r
	}
	return byName, err
}

// Each flaw is found by exactly the cases that target it, with the verdict
// and reason that fit; the handler without a flaw passes every case, so
// every case is shown both to pass and to fail.
func TestEachFlawIsFoundByItsCases(t *testing.T) {
	type verdicts = map[string]check.Verdict
	const F, R = check.Fail, check.Retries
	variants := []struct {
		flaw string
		want verdicts
		// reasons are phrases the report must hold, by case.
		reasons map[string][]string
	}{
		{"", verdicts{}, nil},
		{updateNeedsRow, verdicts{"update-before-create": R}, map[string][]string{
			"update-before-create": {"attempt(s) refused first, the user.updated that arrived before its user.created (500 no user user_"}}},
		{lastWriteWins, verdicts{"update-before-create": F, "stale-update": F, "concurrent-updates": F, "swap-emails": F}, map[string][]string{
			"stale-update": {"the table is wrong (1 row(s))", `column updatedAt: expected "`}}},
		{noTombstone, verdicts{"delete-then-update": F, "delete-then-create": F}, map[string][]string{
			"delete-then-create": {"the row is still there", "but Clerk deleted the user"}}},
		{insertOnCreate, verdicts{"duplicates": F, "update-before-create": F}, map[string][]string{
			"duplicates": {"the same user.created again was refused on all 8 attempts", "UNIQUE constraint failed"}}},
		{uniqueEmail, verdicts{"swap-emails": R}, map[string][]string{
			"swap-emails": {"only through retries", "taking the second's address (500", "UNIQUE constraint failed: User.email"}}},
		{emailNotNull, verdicts{"no-email": F}, map[string][]string{
			"no-email": {"refused on all 8 attempts", "NOT NULL constraint failed: User.email"}}},
		{firstEmail, verdicts{"primary-not-first": F}, map[string][]string{
			"primary-not-first": {`column email: expected "`, `found "secondary.`}}},
		{truncateNames, verdicts{"unicode-names": F}, map[string][]string{
			"unicode-names": {"column firstName: expected"}}},
		{bodyLimit, verdicts{"large-metadata": F}, map[string][]string{
			"large-metadata": {"user.created with 7 KB of public_metadata was refused on all 8 attempts (last: 400"}}},
		{errorOnUnknown, verdicts{"ignored-events": F}, map[string][]string{
			"ignored-events": {"session.created was refused on all 8 attempts (last: 400 unknown event session.created)"}}},
		{noVerify, verdicts{"forged-signature": F, "unsigned": F, "stale-signature": F}, map[string][]string{
			"forged-signature": {"delivery: a user.updated signed with another secret [", "delivery: a user.deleted with a spoiled signature [", "answered 200 {\"ok\":true}, expected 4xx", "no row; expected email="},
			"unsigned":         {"delivery: an unsigned user.created [", "a row exists, but its only delivery was unsigned"}}},
		{noTimestampCheck, verdicts{"stale-signature": F}, map[string][]string{
			"stale-signature": {"a user.updated signed 6 minutes ago was answered 200", `found "Replayed"`}}},
		{svixHeadersOnly, verdicts{"standard-headers": F}, map[string][]string{
			"standard-headers": {"user.created with webhook-* headers was refused on all 8 attempts (last: 400 missing svix headers)"}}},
		{noDelete, verdicts{"lifecycle": F, "delete-then-update": F, "delete-then-create": F}, map[string][]string{
			"lifecycle": {"the row is still there"}}},
		{orgNoDelete, verdicts{"org-lifecycle": F, "org-delete-cascade": F}, map[string][]string{
			"org-lifecycle":      {"the row is still there (name=", "but Clerk deleted the organization"},
			"org-delete-cascade": {"the table is wrong (3 row(s))"}}},
		{noCascade, verdicts{"org-delete-cascade": F}, map[string][]string{
			"org-delete-cascade": {"the table is wrong (2 row(s))", "the row is still there (organizationId=", "but Clerk deleted its organization"}}},
		{memberIgnoresTombstone, verdicts{"org-delete-cascade": F}, map[string][]string{
			"org-delete-cascade": {"the table is wrong (1 row(s))", `role="org:admin"), but Clerk deleted its organization`}}},
		{memberLastWriteWins, verdicts{"role-out-of-order": F}, map[string][]string{
			"role-out-of-order": {`column role: expected "org:billing_manager", found "org:admin"`}}},
		{foreignKeys, verdicts{"membership-before-org": R}, map[string][]string{
			"membership-before-org": {"only through retries", "arrived before its organization.created and user.created (500", "FOREIGN KEY constraint failed"}}},
		{memberNeedsOrg, verdicts{"membership-before-org": F}, map[string][]string{
			"membership-before-org": {"the table is wrong (1 row(s)): orgmem_", `no row; expected organizationId="org_`}}},
		{clerkGuide, verdicts{"update-before-create": R, "stale-update": F, "delete-then-update": F, "delete-then-create": F,
			"duplicates": F, "concurrent-updates": F, "swap-emails": R, "primary-not-first": F}, nil},
	}
	// Four at a time: the runs mostly wait for retries, but all at once
	// they starve a small machine's handlers past Svix's 15 s timeout.
	results := make([]map[string]check.Result, len(variants))
	errs := make([]error, len(variants))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, tc := range variants {
		url, path := serveApp(t, tc.flaw)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = runCheck(url, path)
		})
	}
	wg.Wait()
	for i, tc := range variants {
		name := tc.flaw
		switch name {
		case "":
			name = "correct"
		case clerkGuide:
			name = "clerk-guide"
		}
		t.Run(name, func(t *testing.T) {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			for _, c := range check.Cases() {
				r := results[i][c.Name]
				want := tc.want[c.Name]
				if want == "" {
					want = check.Pass
				}
				if r.Verdict != want {
					t.Errorf("%s: %s, want %s: %s", c.Name, r.Verdict, want, r.Reason)
					continue
				}
				var text strings.Builder
				check.WriteText(&text, r)
				for _, phrase := range tc.reasons[c.Name] {
					if !strings.Contains(text.String(), phrase) {
						t.Errorf("%s: the report lacks %q:\n%s", c.Name, phrase, text.String())
					}
				}
			}
		})
	}
}
