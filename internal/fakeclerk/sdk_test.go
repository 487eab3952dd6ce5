package fakeclerk

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/clerk/clerk-sdk-go/v2"
	"github.com/clerk/clerk-sdk-go/v2/user"
)

// clerk-sdk-go, pointed at the fake, lists, gets, creates, updates and
// deletes users unchanged, and reads the fake's errors as Clerk's.
func TestClerkSDK(t *testing.T) {
	r := newRig(t, seeded(25), APIOptions{})
	ctx := context.Background()
	key, url := testKey, r.url+"/v1"
	users := user.NewClient(&clerk.ClientConfig{BackendConfig: clerk.BackendConfig{Key: &key, URL: &url}})

	list, err := users.List(ctx, &user.ListParams{ListParams: clerk.ListParams{Limit: clerk.Int64(10), Offset: clerk.Int64(20)}, OrderBy: clerk.String("created_at")})
	if err != nil {
		t.Fatal(err)
	}
	all := r.in.Users()
	if list.TotalCount != 25 || len(list.Users) != 5 || list.Users[0].ID != all[20].ID {
		t.Fatalf("List: total %d, %d users", list.TotalCount, len(list.Users))
	}
	filtered, err := users.List(ctx, &user.ListParams{UserIDs: []string{all[1].ID, all[2].ID}})
	if err != nil || filtered.TotalCount != 2 || len(filtered.Users) != 2 {
		t.Fatalf("List by user_id: %+v %v", filtered, err)
	}

	meta := json.RawMessage(`{"plan":"pro"}`)
	created, err := users.Create(ctx, &user.CreateParams{
		EmailAddresses: &[]string{"grace@example.com"}, FirstName: clerk.String("Grace"), Password: clerk.String("correct horse battery"),
		PublicMetadata: &meta, SkipPasswordChecks: clerk.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.FirstName == nil || *created.FirstName != "Grace" || len(created.EmailAddresses) != 1 ||
		*created.PrimaryEmailAddressID != created.EmailAddresses[0].ID || !created.PasswordEnabled || string(created.PublicMetadata) != `{"plan":"pro"}` {
		t.Fatalf("Create: %+v", created)
	}
	updated, err := users.Update(ctx, created.ID, &user.UpdateParams{LastName: clerk.String("Hopper")})
	if err != nil {
		t.Fatal(err)
	}
	if *updated.LastName != "Hopper" || *updated.FirstName != "Grace" || updated.UpdatedAt <= created.UpdatedAt {
		t.Fatalf("Update: %+v", updated)
	}
	got, err := users.Get(ctx, created.ID)
	if err != nil || got.UpdatedAt != updated.UpdatedAt || *got.LastName != "Hopper" {
		t.Fatalf("Get: %+v %v", got, err)
	}
	deleted, err := users.Delete(ctx, created.ID)
	if err != nil || !deleted.Deleted || deleted.ID != created.ID || deleted.Object != "user" {
		t.Fatalf("Delete: %+v %v", deleted, err)
	}
	_, err = users.Get(ctx, created.ID)
	var apiErr *clerk.APIErrorResponse
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != http.StatusNotFound || apiErr.Errors[0].Code != "resource_not_found" {
		t.Fatalf("Get after Delete: %v", err)
	}
}
