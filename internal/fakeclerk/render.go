package fakeclerk

import (
	"bytes"
	"encoding/json"
)

// userObject is Clerk's user object, in the field order of the Backend
// API's examples: what GET /v1/users/{id} answers and what a user.created
// or user.updated webhook carries as data.
type userObject struct {
	ID                            string          `json:"id"`
	Object                        string          `json:"object"`
	ExternalID                    *string         `json:"external_id"`
	PrimaryEmailAddressID         *string         `json:"primary_email_address_id"`
	PrimaryPhoneNumberID          *string         `json:"primary_phone_number_id"`
	PrimaryWeb3WalletID           *string         `json:"primary_web3_wallet_id"`
	Username                      *string         `json:"username"`
	FirstName                     *string         `json:"first_name"`
	LastName                      *string         `json:"last_name"`
	Locale                        *string         `json:"locale"`
	ProfileImageURL               string          `json:"profile_image_url"`
	ImageURL                      string          `json:"image_url"`
	HasImage                      bool            `json:"has_image"`
	PublicMetadata                json.RawMessage `json:"public_metadata"`
	PrivateMetadata               json.RawMessage `json:"private_metadata"`
	UnsafeMetadata                json.RawMessage `json:"unsafe_metadata"`
	EmailAddresses                []emailObject   `json:"email_addresses"`
	PhoneNumbers                  []phoneObject   `json:"phone_numbers"`
	Web3Wallets                   []struct{}      `json:"web3_wallets"`
	Passkeys                      []struct{}      `json:"passkeys"`
	PasswordEnabled               bool            `json:"password_enabled"`
	TwoFactorEnabled              bool            `json:"two_factor_enabled"`
	TOTPEnabled                   bool            `json:"totp_enabled"`
	BackupCodeEnabled             bool            `json:"backup_code_enabled"`
	MFAEnabledAt                  *int64          `json:"mfa_enabled_at"`
	MFADisabledAt                 *int64          `json:"mfa_disabled_at"`
	PasswordLastUpdatedAt         *int64          `json:"password_last_updated_at"`
	ExternalAccounts              []struct{}      `json:"external_accounts"`
	SAMLAccounts                  []struct{}      `json:"saml_accounts"`
	EnterpriseAccounts            []struct{}      `json:"enterprise_accounts"`
	LastSignInAt                  *int64          `json:"last_sign_in_at"`
	Banned                        bool            `json:"banned"`
	Locked                        bool            `json:"locked"`
	Deprovisioned                 bool            `json:"deprovisioned"`
	LockoutExpiresInSeconds       *int64          `json:"lockout_expires_in_seconds"`
	VerificationAttemptsRemaining *int64          `json:"verification_attempts_remaining"`
	UpdatedAt                     int64           `json:"updated_at"`
	CreatedAt                     int64           `json:"created_at"`
	DeleteSelfEnabled             bool            `json:"delete_self_enabled"`
	CreateOrganizationEnabled     bool            `json:"create_organization_enabled"`
	CreateOrganizationsLimit      *int            `json:"create_organizations_limit"`
	LastActiveAt                  *int64          `json:"last_active_at"`
	LegalAcceptedAt               *int64          `json:"legal_accepted_at"`
	BypassClientTrust             bool            `json:"bypass_client_trust"`
}

type verification struct {
	Object   string `json:"object"`
	Status   string `json:"status"`
	Strategy string `json:"strategy"`
	Attempts int    `json:"attempts"`
	ExpireAt int64  `json:"expire_at"`
}

type emailObject struct {
	ID                   string       `json:"id"`
	Object               string       `json:"object"`
	EmailAddress         string       `json:"email_address"`
	Reserved             bool         `json:"reserved"`
	Verification         verification `json:"verification"`
	LinkedTo             []struct{}   `json:"linked_to"`
	MatchesSSOConnection bool         `json:"matches_sso_connection"`
	CreatedAt            int64        `json:"created_at"`
	UpdatedAt            int64        `json:"updated_at"`
}

type phoneObject struct {
	ID                      string       `json:"id"`
	Object                  string       `json:"object"`
	PhoneNumber             string       `json:"phone_number"`
	ReservedForSecondFactor bool         `json:"reserved_for_second_factor"`
	DefaultSecondFactor     bool         `json:"default_second_factor"`
	Reserved                bool         `json:"reserved"`
	Verification            verification `json:"verification"`
	LinkedTo                []struct{}   `json:"linked_to"`
	BackupCodes             []string     `json:"backup_codes"`
	CreatedAt               int64        `json:"created_at"`
	UpdatedAt               int64        `json:"updated_at"`
}

// none is an empty JSON array: Clerk answers [] rather than null for the
// lists a local user never has (wallets, passkeys, SSO accounts).
var none = []struct{}{}

// emptyObject is the metadata of a user that has none.
var emptyObject = json.RawMessage(`{}`)

// Render returns u as Clerk's user object, in JSON.
func (u *User) Render() []byte {
	b, err := json.Marshal(u.object())
	if err != nil {
		panic(err) // every field is a plain value or JSON checked on the way in
	}
	return b
}

// renderTo appends what Render returns to buf, without allocating the
// result: a page of users is rendered into one buffer.
func (u *User) renderTo(buf *bytes.Buffer) {
	enc := json.NewEncoder(buf)
	if err := enc.Encode(u.object()); err != nil {
		panic(err) // every field is a plain value or JSON checked on the way in
	}
	buf.Truncate(buf.Len() - 1) // Encode ends with a newline; Marshal does not
}

func (u *User) object() *userObject {
	o := &userObject{
		ID: u.ID, Object: "user", ExternalID: u.ExternalID,
		PrimaryEmailAddressID: u.PrimaryEmailID, PrimaryPhoneNumberID: u.PrimaryPhoneID,
		Username: u.Username, FirstName: u.FirstName, LastName: u.LastName,
		ProfileImageURL: u.ImageURL, ImageURL: u.ImageURL, HasImage: u.HasImage,
		PublicMetadata: orEmpty(u.PublicMetadata), PrivateMetadata: orEmpty(u.PrivateMetadata), UnsafeMetadata: orEmpty(u.UnsafeMetadata),
		EmailAddresses: make([]emailObject, 0, len(u.Emails)), PhoneNumbers: make([]phoneObject, 0, len(u.Phones)),
		Web3Wallets: none, Passkeys: none, ExternalAccounts: none, SAMLAccounts: none, EnterpriseAccounts: none,
		PasswordEnabled: u.PasswordEnabled, LastSignInAt: u.LastSignInAt, LastActiveAt: u.LastSignInAt, Banned: u.Banned,
		UpdatedAt: u.UpdatedAt, CreatedAt: u.CreatedAt, DeleteSelfEnabled: true, CreateOrganizationEnabled: true,
	}
	if u.PasswordEnabled {
		o.PasswordLastUpdatedAt = &u.CreatedAt
	}
	for _, e := range u.Emails {
		o.EmailAddresses = append(o.EmailAddresses, emailObject{
			ID: e.ID, Object: "email_address", EmailAddress: e.Value, LinkedTo: none,
			Verification: verification{Object: "verification_otp", Status: "verified", Strategy: "email_code", Attempts: 1, ExpireAt: u.CreatedAt + 600_000},
			CreatedAt:    u.CreatedAt, UpdatedAt: u.CreatedAt,
		})
	}
	for _, p := range u.Phones {
		o.PhoneNumbers = append(o.PhoneNumbers, phoneObject{
			ID: p.ID, Object: "phone_number", PhoneNumber: p.Value, LinkedTo: none,
			Verification: verification{Object: "verification_otp", Status: "verified", Strategy: "phone_code", Attempts: 1, ExpireAt: u.CreatedAt + 600_000},
			CreatedAt:    u.CreatedAt, UpdatedAt: u.CreatedAt,
		})
	}
	return o
}

func orEmpty(m json.RawMessage) json.RawMessage {
	if len(m) == 0 {
		return emptyObject
	}
	return m
}
