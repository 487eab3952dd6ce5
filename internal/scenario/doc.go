// Package scenario is the engine of `mockclerk scenario`: a scenario is a
// sequence of Clerk events with references between its steps, in the
// spirit of Stripe CLI's fixture files, generated in the order Clerk would
// emit them and delivered in the order the scenario asks for. That is how
// the hard cases (an update before its create, a delete before a late
// update, duplicates, bursts, a membership before its organization, an
// organization deleted with live members) are written down once and
// checked against the rows they must leave in the users, organizations
// and memberships tables.
//
// # File format
//
// A scenario is one JSON object; unknown fields are errors.
//
//	{
//	  "name": "out-of-order",
//	  "description": "an update that arrives before the create",
//	  "steps": [
//	    {"name": "created", "event": "user.created", "set": {"first_name": "Ada"}},
//	    {"name": "renamed", "event": "user.updated", "user": "${created:data.id}",
//	     "set": {"last_name": "${.env:LAST_NAME|Lovelace}"}},
//	    {"name": "deleted", "event": "user.deleted", "user": "${created:data.id}"}
//	  ],
//	  "send": ["renamed", "created", "deleted"]
//	}
//
// name: required; letters, digits, "_" and "-" (the same goes for step
// names). description: optional; what the scenario checks.
//
// steps: generated in file order, so each entity's updated_at grows the
// way Clerk's does. Each step has:
//   - name: unique; other steps and send refer to it.
//   - event: an event type with a fixture (fixtures.Types).
//   - user: the user the event is about, a string that usually is a
//     reference such as "${created:data.id}". Required for user.updated and
//     user.deleted, optional for other types (a session.created names its
//     user), not allowed for user.created, which always makes a new user.
//     A "user_…" id that no step created stands for a user that exists in
//     Clerk already: the engine invents the rest of it. On
//     organization.created, user is optional and names the creator
//     (data.created_by); on organizationMembership.created it is required
//     and names the user who joins; other organization and membership
//     events do not take it.
//   - org: the organization, e.g. "${acme:data.id}". Required for
//     organization.updated, organization.deleted and
//     organizationMembership.created, not allowed elsewhere
//     (organization.created always makes a new organization). An "org_…"
//     id that no step created stands for an organization that exists
//     already, as for users.
//   - membership: the membership that organizationMembership.updated (which
//     switches its role between org:member and org:admin) or .deleted acts
//     on, e.g. "${joined:data.id}"; required there, not allowed elsewhere.
//     The membership names its organization and user, so a step of the
//     scenario must have made it (a step left out of send stands for a
//     membership that exists already).
//   - set: gjson paths into data → values, applied with fake.Override in
//     the order of their paths. A string value may hold references; any
//     other JSON value is set as it is. A step that sets a field of a user
//     event changes the engine's picture of that user too, so the expected
//     rows follow; the changes must keep the event valid (an id, an
//     updated_at later than the user's previous event, an image_url). The
//     same goes for organizations (name, slug, image_url and created_by
//     stay strings, metadata stays {}) and memberships (role org:admin or
//     org:member; the organization and user stay the step's).
//   - count: repeat the step, a whole number from 1 to 10000 or a string of
//     ${.env:…} references that gives one ("${.env:MOCKCLERK_BURST|25}"). A
//     step with a count is known as "name#1" … "name#N"; "name" alone in
//     send means all of them, and a reference must pick one, as in
//     ${created#3:data.id}. A whole plan, duplicates included, has at most
//     MaxDeliveries deliveries.
//
// Clerk sends nothing about a deleted entity, so an event about a user,
// organization or membership that an earlier step deleted is an error,
// but for organizationMembership.deleted after its organization's or its
// user's deletion, which Clerk may send. To deliver an event after a
// deletion, generate it before and reorder it with send.
//
// send: the delivery order, by step name (or "name#i"). A name may repeat:
// the same delivery again, same svix-id and bytes, which is a duplicate.
// Without send every step is delivered once, in file order; a step left
// out of send is generated (it moves its entity on) but never delivered.
//
// An organization's steps, in short:
//
//	{"name": "acme", "event": "organization.created", "user": "${ada:data.id}"},
//	{"name": "joined", "event": "organizationMembership.created",
//	 "org": "${acme:data.id}", "user": "${ada:data.id}", "set": {"role": "org:admin"}},
//	{"name": "demoted", "event": "organizationMembership.updated", "membership": "${joined:data.id}"},
//	{"name": "gone", "event": "organization.deleted", "org": "${acme:data.id}"}
//
// # References
//
// A reference is written ${source:argument|default}; the default is
// optional and used when the value is missing.
//   - ${step:path}: a gjson path into the whole body of an earlier step's
//     event, e.g. ${created:data.id} or
//     ${created:data.email_addresses.0.email_address}.
//   - ${.env:VAR}: the environment lookup given to Plan (never the process
//     environment directly); always a string.
//   - ${.id:prefix}: a fresh Clerk-style id, e.g. ${.id:idn}.
//   - ${.now}: the current time in Unix milliseconds, a number.
//
// When a set value is exactly one reference to a step's number, boolean,
// object or null, or is ${.now}, the field keeps that JSON type; anything
// else is set as a string. An unknown step, a reference to the step itself
// or a later one, a path with nothing at it, an unset variable without a
// default, or an unknown event type is an error that names the step and
// the reference, and Plan returns it before anything can be sent.
//
// # Expected rows
//
// Plan works out the rows each table must end with, whatever the delivery
// order, by the sync's rules: an entity's row is its latest delivered
// event's, a delivered deletion removes it for good, and a membership goes
// when its organization's or its user's deletion is delivered, before or
// after the membership's own events; a membership delivered before its
// organization and user is written all the same.
//
// # Built-ins
//
// See the builtin directory; Builtins lists their names. burst reads
// MOCKCLERK_BURST (default 25) for the number of users. The org-… ones are
// about organizations and memberships.
package scenario
