package postgres_test

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/postgres"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{Open: storetest.Postgres, Pair: storetest.PostgresPair})
}

// The whole suite again, through a mapping into each table exactly as
// Prisma creates it, with two replicas racing.
func TestConformancePrismaTables(t *testing.T) {
	for _, p := range storetest.PrismaTables(mapping.Postgres) {
		t.Run(p.Name, func(t *testing.T) {
			h := p.Harness(func(t *testing.T, m mapping.Mapping, ddl string) (store.Store, func(string) error) {
				return storetest.PostgresWith(t, pgtest.URL(t), m, ddl)
			})
			h.Pair = func(t *testing.T) (store.Store, store.Store) {
				return storetest.PostgresPairWith(t, p.Mapping.WithDelete(store.HardDelete), p.DDL)
			}
			storetest.Run(t, h)
		})
	}
}

func TestPrimaryKeyFills(t *testing.T) {
	storetest.RunPrimaryKeyFills(t, mapping.Postgres, func(t *testing.T, m mapping.Mapping, ddl string) (store.Store, func(string) error) {
		return storetest.PostgresWith(t, pgtest.URL(t), m, ddl)
	})
}

func TestSoftDeleteColumns(t *testing.T) {
	storetest.RunSoftDeleteColumns(t, mapping.Postgres, func(t *testing.T, m mapping.Mapping, ddl string) (store.Store, func(string) error) {
		return storetest.PostgresWith(t, pgtest.URL(t), m, ddl)
	})
}

func TestAppTableEdges(t *testing.T) {
	storetest.RunAppTableEdges(t, mapping.Postgres, func(t *testing.T, m mapping.Mapping, ddl string) (store.Store, func(string) error) {
		return storetest.PostgresWith(t, pgtest.URL(t), m, ddl)
	})
}

// connect connects to url, closed when the test ends, and runs sql.
func connect(t *testing.T, url, sql string) *pgx.Conn {
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
	return conn
}

// Each schema of one database (Prisma's ?schema=, a search_path here)
// gets its own tables and apply function.
func TestSchemasOfOneDatabase(t *testing.T) {
	url := pgtest.URL(t)
	connect(t, url, "CREATE SCHEMA a; CREATE SCHEMA b")
	g := fake.New(6, time.Now())
	for _, schema := range []string{"a", "b"} {
		u, err := neturl.Parse(url)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		st, _ := storetest.PostgresWith(t, u.String(), mapping.Default(), "")
		user := g.NewUser()
		ev := g.Created(user)
		_, c, err := clerk.Parse(ev.Body)
		if err != nil {
			t.Fatal(err)
		}
		d := store.Delivery{SvixID: "msg_" + schema, Type: ev.Type, UserID: user.ID, ReceivedAt: time.Now(), Payload: ev.Body}
		if o, err := st.Apply(context.Background(), d, *c); o != store.Applied || err != nil {
			t.Fatalf("schema %s: %s %v", schema, o, err)
		}
		if users, err := st.Users(context.Background()); err != nil || len(users) != 1 || users[0].ClerkID != user.ID {
			t.Fatalf("schema %s: users %v %v", schema, users, err)
		}
	}
}

// An existing "User" table is the app's, even under the default mapping:
// start-up says what it lacks and changes nothing.
func TestDefaultMappingLeavesAnExistingTableAlone(t *testing.T) {
	url := pgtest.URL(t)
	conn := connect(t, url, `CREATE TABLE "User" ("id" TEXT PRIMARY KEY, "clerkId" TEXT NOT NULL, "email" TEXT,
		"firstName" TEXT, "lastName" TEXT, "username" TEXT, "imageUrl" TEXT, "createdAt" TIMESTAMP(3) NOT NULL, "updatedAt" TIMESTAMP(3) NOT NULL)`)
	_, err := postgres.Open(context.Background(), url, mapping.Default())
	if !errors.Is(err, mapping.ErrMismatch) || !strings.Contains(err.Error(), `"clerkId": no unique index`) {
		t.Fatalf("open: %v, want the missing unique index reported", err)
	}
	var indexes int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_indexes WHERE tablename = 'User'`).Scan(&indexes); err != nil || indexes != 1 {
		t.Fatalf("%d indexes on \"User\" (%v), want only its primary key's", indexes, err)
	}
}

// Replicas that start together must not both migrate.
func TestConcurrentMigrations(t *testing.T) {
	url := pgtest.URL(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			st, err := postgres.Open(context.Background(), url, mapping.Default())
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// A view reads the users table without migrating anything, and says
// when the table is not one it can read through the mapping.
func TestView(t *testing.T) {
	url := pgtest.URL(t)
	if _, err := postgres.OpenView(context.Background(), url, mapping.Default()); err == nil || !strings.Contains(err.Error(), `table "User" does not exist`) {
		t.Fatalf("a view of a missing table: %v", err)
	}
	seedPlan := storetest.PrismaTables(mapping.Postgres)[0]
	other := pgtest.URL(t)
	storetest.PostgresWith(t, other, seedPlan.Mapping, seedPlan.DDL)
	if _, err := postgres.OpenView(context.Background(), other, mapping.Default()); err == nil || !strings.Contains(err.Error(), `has no column "username"`) {
		t.Fatalf("a default view of the seed plan's table: %v", err)
	}
	st, _ := storetest.PostgresAt(t, url, store.HardDelete)
	if _, err := st.Record(context.Background(), store.Delivery{SvixID: "msg_v", Type: "session.created", Payload: []byte("{}")}, store.Ignored, ""); err != nil {
		t.Fatal(err)
	}
	v, err := postgres.OpenView(context.Background(), url, mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	users, err := v.Users(context.Background())
	if err != nil || len(users) != 0 || v.Ping(context.Background()) != nil {
		t.Fatalf("users %v, %v", users, err)
	}
}

// A column's type modifiers act as they do for a plain INSERT of the same
// text: a value too long for char(n) or varchar(n) is refused, never cut,
// and a time is rounded to the column's precision.
func TestTypeModifiersActAsAPlainInsert(t *testing.T) {
	url := pgtest.URL(t)
	conn := connect(t, url, "SELECT 1")
	ctx := context.Background()
	g := fake.New(8, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	tests := []struct {
		typ   string
		field mapping.Field
		as    mapping.Kind
	}{
		{"char(80)", mapping.Email, mapping.Text},
		{"char(8)", mapping.Email, mapping.Text},
		{"varchar(80)", mapping.Email, mapping.Text},
		{"varchar(8)", mapping.Email, mapping.Text},
		{"timestamp(0)", mapping.CreatedAt, mapping.Time},
		{"timestamp(2) with time zone", mapping.CreatedAt, mapping.Time},
	}
	for i, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			table := fmt.Sprintf("typed_%d", i)
			m := mapping.Mapping{
				Table: table, Model: "Typed", Key: "clerk_id", OnDelete: store.HardDelete, DeleteAs: mapping.Time,
				Columns: []mapping.Column{{Name: "v", Field: tt.field, As: tt.as}},
			}
			st, _ := storetest.PostgresWith(t, url, m, fmt.Sprintf(`CREATE TABLE %s ("clerk_id" char(32) PRIMARY KEY, "v" %s);
				CREATE TABLE plain_%[1]s ("v" %[2]s)`, table, tt.typ))
			u := g.NewUser()
			for len(u.Emails) == 0 {
				u = g.NewUser()
			}
			ev := g.Created(u)
			_, c, err := clerk.Parse(ev.Body)
			if err != nil {
				t.Fatal(err)
			}
			text := *c.Email
			if tt.as == mapping.Time {
				text = mapping.TimeText(c.CreatedAt)
			}
			_, plainErr := conn.Exec(ctx, fmt.Sprintf(`INSERT INTO plain_%s VALUES ('%s')`, table, strings.ReplaceAll(text, "'", "''")))
			d := store.Delivery{SvixID: "msg_" + table, Type: ev.Type, UserID: u.ID, ReceivedAt: time.Now(), Payload: ev.Body}
			o, err := st.Apply(ctx, d, *c)
			var pgErr *pgconn.PgError
			if errors.As(plainErr, &pgErr) {
				if o != store.Failed || !strings.Contains(fmt.Sprint(err), pgErr.Code) {
					t.Fatalf("a plain INSERT of %q fails with %s (%s); the store answered %s, %v", text, pgErr.Code, pgErr.Message, o, err)
				}
				return
			}
			if plainErr != nil || o != store.Applied || err != nil {
				t.Fatalf("plain insert: %v; store: %s %v", plainErr, o, err)
			}
			var got, want string
			if err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT (SELECT v::text FROM %s), (SELECT v::text FROM plain_%[1]s)`, table)).Scan(&got, &want); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("the store kept %q where a plain INSERT keeps %q", got, want)
			}
		})
	}
}

// A role that may create functions in the schema (every role, in public,
// before PostgreSQL 15) can create the apply function before clerk-sync
// does: start-up must refuse it, and never call it.
func TestRefusesAnApplyFunctionItDidNotMake(t *testing.T) {
	ctx := context.Background()
	// The function's name and arguments follow from the mapping and the
	// schema alone: any install shows them.
	elsewhere := pgtest.URL(t)
	storetest.PostgresAt(t, elsewhere, store.HardDelete)
	var fn, args string
	if err := connect(t, elsewhere, "SELECT 1").QueryRow(ctx, `SELECT proname, pg_get_function_identity_arguments(oid)
		FROM pg_proc WHERE proname LIKE 'clerk_sync_apply_%'`).Scan(&fn, &args); err != nil {
		t.Fatal(err)
	}

	url := pgtest.URL(t)
	role := fmt.Sprintf("intruder_%d", time.Now().UnixNano())
	admin := connect(t, url, fmt.Sprintf(`CREATE ROLE %[1]s LOGIN; GRANT CREATE ON SCHEMA public TO %[1]s`, role))
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), fmt.Sprintf(`DROP OWNED BY %[1]s; DROP ROLE %[1]s`, role)); err != nil {
			t.Errorf("drop the intruder: %v", err)
		}
	})
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	u.User = neturl.User(role)
	connect(t, u.String(), fmt.Sprintf(`CREATE FUNCTION public.%s(%s) RETURNS text LANGUAGE plpgsql AS $$
		BEGIN EXECUTE 'ALTER ROLE %s SUPERUSER'; RETURN 'applied'; END $$`, fn, args, role))

	_, err = postgres.Open(ctx, url, mapping.Default())
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("belongs to role %q", role)) || !strings.Contains(err.Error(), "DROP FUNCTION") {
		t.Fatalf("open: %v, want a refusal that names the owner and the fix", err)
	}
	var super bool
	if err := admin.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = $1`, role).Scan(&super); err != nil || super {
		t.Fatalf("the intruder's function ran: superuser %v (%v)", super, err)
	}
}

// A function of ours whose source or settings were changed is refused too.
func TestRefusesAnAlteredApplyFunction(t *testing.T) {
	url := pgtest.URL(t)
	st, _ := storetest.PostgresAt(t, url, store.HardDelete)
	st.Close()
	connect(t, url, `DO $$ DECLARE f regprocedure; BEGIN
		SELECT oid::regprocedure INTO f FROM pg_proc WHERE proname LIKE 'clerk_sync_apply_%';
		EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER', f);
	END $$`)
	if _, err := postgres.Open(context.Background(), url, mapping.Default()); err == nil || !strings.Contains(err.Error(), "not the function clerk-sync generates") {
		t.Fatalf("open: %v, want the altered function refused", err)
	}
}

// A value PostgreSQL cannot store (NUL, invalid UTF-8) is refused for
// good, never answered as unavailable, even when the delivery's own
// fields are what cannot be recorded. (The parser refuses such bodies
// before they reach a store; this is the store's own answer.)
func TestValuesItCannotStoreArePermanent(t *testing.T) {
	st, _ := storetest.Postgres(t, store.HardDelete)
	nul, bad := "a\x00b", "\xff"
	for name, c := range map[string]store.Change{
		"NUL in the id":        {Kind: store.KindUser, ID: "user_\x00", Version: 1},
		"NUL in a value":       {Kind: store.KindUser, ID: "user_1", Version: 1, FirstName: &nul},
		"invalid UTF-8 in one": {Kind: store.KindUser, ID: "user_2", Version: 1, FirstName: &bad},
	} {
		t.Run(name, func(t *testing.T) {
			d := store.Delivery{SvixID: "msg_" + name, Type: clerk.UserCreated, UserID: c.ID, ReceivedAt: time.Now(), Payload: []byte("{}")}
			o, err := st.Apply(context.Background(), d, c)
			if o != store.Failed || !errors.Is(err, store.ErrPermanent) || errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("got %s, %v; want failed, permanent", o, err)
			}
		})
	}
}

// Ready means a delivery can be applied: a server that takes no writes is
// not ready.
func TestPingSaysNotReadyWhenReadOnly(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	st, _ := storetest.PostgresAt(t, url, store.HardDelete)
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	// New sessions start read-only, as on a standby; the store's are
	// ended so that its pool opens new ones.
	connect(t, url, `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_read_only = on', current_database()); END $$;
		SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	var err error
	for range 5 {
		if err = st.Ping(ctx); err != nil && strings.Contains(err.Error(), "takes no writes") {
			break
		}
	}
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "takes no writes") {
		t.Fatalf("ping of a read-only database: %v, want not ready, saying why", err)
	}
}

// A search path (Prisma's ?schema=) naming no schema that exists is an
// error that says so, not PostgreSQL's "no schema has been selected".
func TestMissingSchemaSaysWhatToDo(t *testing.T) {
	u, err := neturl.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", "nope")
	u.RawQuery = q.Encode()
	_, err = postgres.Open(context.Background(), u.String(), mapping.Default())
	if err == nil || !strings.Contains(err.Error(), "no schema of the search path (nope) exists") || !strings.Contains(err.Error(), "CREATE SCHEMA") {
		t.Fatalf("open: %v, want the missing schema named with the fix", err)
	}
}

// Prisma's default relationMode: foreign keys and a unique member per
// organization, which doctor warns about; deliveries wait for their
// parents.
func TestPrismaForeignKeys(t *testing.T) {
	storetest.RunPrismaForeignKeys(t, mapping.Postgres, func(t *testing.T, m mapping.Mapping, ddl string) (store.Store, func(string) error) {
		return storetest.PostgresWith(t, pgtest.URL(t), m, ddl)
	})
}

// On a database whose collation mixes upper and lower case (ICU en-US,
// as on most managed servers), History still pages in the svix-ids'
// bytes, and its keyset agrees with its order.
func TestHistoryUnderICU(t *testing.T) {
	st, _ := storetest.PostgresAt(t, pgtest.URLWithICULocale(t, "en-US"), store.HardDelete)
	storetest.HistoryPaging(t, st)
}

// The whole suite again behind PgBouncer in transaction mode, as
// clerk-sync connects there (a URL with ?pgbouncer=true gives pgx's
// default_query_exec_mode=cache_describe: unnamed statements, which a
// server connection shared between transactions of other clients can
// pass on).
func TestConformanceThroughPgBouncer(t *testing.T) {
	storetest.Run(t, storetest.Harness{Open: func(t *testing.T, mode store.DeleteMode) (store.Store, func(string) error) {
		return storetest.PostgresAt(t, pgtest.Bouncer(t, pgtest.URL(t))+"&default_query_exec_mode=cache_describe", mode)
	}})
}
