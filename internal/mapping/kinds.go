package mapping

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// The fields of an organization and of a membership that a mapping may
// name, beside those a user shares with them (created_at, updated_at,
// public_metadata, private_metadata, image_url).
const (
	Name               Field = "name"                 // the organization's name
	Slug               Field = "slug"                 // null when the instance has slugs off
	CreatedBy          Field = "created_by"           // the Clerk id of the user who created it
	AdminDeleteEnabled Field = "admin_delete_enabled" // boolean
	WholeOrganization  Field = "organization"         // the whole organization object (JSON)
	OrganizationID     Field = "organization_id"      // a membership's organization (Clerk id)
	UserID             Field = "user_id"              // a membership's user (Clerk id)
	Role               Field = "role"                 // org:admin, org:member or a custom org:…
	RoleName           Field = "role_name"            // the role's display name
	Permissions        Field = "permissions"          // JSON array of the role's permissions
	Identifier         Field = "identifier"           // the member's identifier, usually the email
	WholeMembership    Field = "membership"           // the whole membership object (JSON)
)

// organizationFields are an organization's fields, with where each is in
// the organization object.
var organizationFields = map[Field]fieldInfo{
	Name:               {kind: Text, nullable: false, path: "name"},
	Slug:               {kind: Text, nullable: true, path: "slug"},
	ImageURL:           {kind: Text, nullable: true, path: "image_url"},
	CreatedBy:          {kind: Text, nullable: true, path: "created_by"},
	AdminDeleteEnabled: {kind: Bool, nullable: false, path: "admin_delete_enabled"},
	PublicMetadata:     {kind: JSON, nullable: false},
	PrivateMetadata:    {kind: JSON, nullable: false},
	CreatedAt:          {kind: Time, nullable: false},
	UpdatedAt:          {kind: Time, nullable: false},
	WholeOrganization:  {kind: JSON, nullable: false, path: "@this"},
}

// membershipFields are a membership's fields, with where each is in the
// membership object.
var membershipFields = map[Field]fieldInfo{
	OrganizationID:  {kind: Text, nullable: false, path: "organization.id"},
	UserID:          {kind: Text, nullable: false, path: "public_user_data.user_id"},
	Role:            {kind: Text, nullable: false, path: "role"},
	RoleName:        {kind: Text, nullable: true, path: "role_name"},
	Permissions:     {kind: JSON, nullable: true, path: "permissions"},
	Identifier:      {kind: Text, nullable: true, path: "public_user_data.identifier"},
	PublicMetadata:  {kind: JSON, nullable: false},
	PrivateMetadata: {kind: JSON, nullable: false},
	CreatedAt:       {kind: Time, nullable: false},
	UpdatedAt:       {kind: Time, nullable: false},
	WholeMembership: {kind: JSON, nullable: false, path: "@this"},
}

// DefaultOrganizations is the default organizations table, in the style
// of User: the Prisma model Organization, keyed and identified by the
// Clerk organization id.
func DefaultOrganizations() Mapping {
	return Mapping{
		Kind: store.KindOrganization, Table: "Organization", Model: "Organization", Key: "clerkId", ID: "id", IDFill: FillClerkID,
		Columns: []Column{
			{"name", Name, Text}, {"slug", Slug, Text}, {"imageUrl", ImageURL, Text}, {"createdBy", CreatedBy, Text},
			{"publicMetadata", PublicMetadata, JSON}, {"createdAt", CreatedAt, Time}, {"updatedAt", UpdatedAt, Time},
		},
		OnDelete: store.HardDelete, DeleteColumn: "deletedAt", DeleteAs: Time,
	}
}

// DefaultMemberships is the default memberships table: the Prisma model
// OrganizationMembership, keyed and identified by the Clerk membership
// id, holding the Clerk ids of the organization and the user without
// foreign keys (a membership may arrive before either), indexed on both.
// No unique index covers the pair: a membership re-created out of order
// can overlap its deleted predecessor for a moment.
func DefaultMemberships() Mapping {
	return Mapping{
		Kind: store.KindMembership, Table: "OrganizationMembership", Model: "OrganizationMembership", Key: "clerkId", ID: "id", IDFill: FillClerkID,
		Columns: []Column{
			{"organizationId", OrganizationID, Text}, {"userId", UserID, Text}, {"role", Role, Text},
			{"createdAt", CreatedAt, Time}, {"updatedAt", UpdatedAt, Time},
		},
		Index:    []string{"organizationId", "userId"},
		OnDelete: store.HardDelete, DeleteColumn: "deletedAt", DeleteAs: Time,
	}
}

// Section is the mapping file's section of kind: organizations or
// memberships (users for the top level).
func Section(kind store.Kind) string { return string(kind) + "s" }

// fromData is the value of field f of an organization or membership: read
// from the entity's object at the field's path, as the field's kind.
func fromData(info fieldInfo, c *store.Change) any {
	v := gjson.GetBytes(c.Data, info.path)
	switch info.kind {
	case Text:
		if v.Type != gjson.String || strings.TrimSpace(v.Str) == "" {
			return nil
		}
		return v.Str
	case Bool:
		return v.Type == gjson.True
	case JSON:
		if !v.Exists() || v.Type == gjson.Null {
			return nil
		}
		return compact([]byte(v.Raw))
	}
	return nil
}
