package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// Value is what field f of change c puts in a column: nil (NULL), a
// string, a time.Time, a bool, or json.RawMessage (compact JSON).
func Value(f Field, c *store.Change) any {
	if c.Kind != store.KindUser && c.Kind != "" {
		if info := fieldsOf[c.Kind][f]; info.path != "" {
			return fromData(info, c)
		}
	}
	str := func(s *string) any {
		if s == nil {
			return nil
		}
		return *s
	}
	switch f {
	case Email:
		return str(c.Email)
	case FirstName:
		return str(c.FirstName)
	case LastName:
		return str(c.LastName)
	case FullName:
		var parts []string
		for _, p := range []*string{c.FirstName, c.LastName} {
			if p != nil {
				parts = append(parts, *p)
			}
		}
		if len(parts) == 0 {
			return nil
		}
		return strings.Join(parts, " ")
	case Username:
		return str(c.Username)
	case ImageURL:
		return str(c.ImageURL)
	case Phone:
		return str(c.Phone)
	case ExternalID:
		return str(c.ExternalID)
	case PublicMetadata:
		return compact(c.PublicMetadata)
	case PrivateMetadata:
		return compact(c.PrivateMetadata)
	case UnsafeMetadata:
		return compact(c.UnsafeMetadata)
	case WholeUser:
		return compact(c.Data)
	case CreatedAt:
		return c.CreatedAt
	case UpdatedAt:
		return c.UpdatedAt
	case LastSignInAt:
		if c.LastSignInAt == nil {
			return nil
		}
		return *c.LastSignInAt
	case Banned:
		return c.Banned
	case Locked:
		return c.Locked
	}
	return nil
}

// compact returns raw without insignificant space, or nil for no value.
// Clerk's body has been parsed already, so it is valid JSON.
func compact(raw []byte) any {
	if raw == nil {
		return nil
	}
	if !bytes.ContainsAny(raw, " \t\r\n") {
		return json.RawMessage(raw) // already compact
	}
	var b bytes.Buffer
	b.Grow(len(raw))
	if err := json.Compact(&b, raw); err != nil {
		return json.RawMessage(raw)
	}
	return json.RawMessage(b.Bytes())
}

// TimeText is the canonical text of a time: RFC 3339 in UTC with
// milliseconds, which PostgreSQL reads for timestamp and timestamptz
// alike.
func TimeText(t time.Time) string { return t.UTC().Format(store.TimeLayout) }

// Canonical turns what a driver read from a column of kind k into one
// text per value, so that rows compare across drivers and column types:
// times as TimeText, booleans as true/false, JSON re-encoded with sorted
// keys. ok is false for NULL.
func Canonical(k Kind, v any) (s string, ok bool, err error) {
	if v == nil {
		return "", false, nil
	}
	if b, isBytes := v.([]byte); isBytes {
		v = string(b)
	}
	switch k {
	case Text:
		if s, ok := v.(string); ok {
			return s, true, nil
		}
	case Time:
		t, err := asTime(v)
		if err != nil {
			return "", false, err
		}
		return TimeText(t), true, nil
	case Bool:
		switch v := v.(type) {
		case bool:
			return strconv.FormatBool(v), true, nil
		case int64:
			return strconv.FormatBool(v != 0), true, nil
		case string:
			switch strings.ToLower(v) {
			case "true", "t", "1":
				return "true", true, nil
			case "false", "f", "0":
				return "false", true, nil
			}
		}
	case JSON:
		if s, ok := v.(string); ok {
			d := json.NewDecoder(strings.NewReader(s))
			d.UseNumber()
			var x any
			if err := d.Decode(&x); err != nil {
				return "", false, fmt.Errorf("column holds %.40q, not JSON", s)
			}
			if _, err := d.Token(); err != io.EOF {
				return "", false, fmt.Errorf("column holds %.40q, not JSON: more after the value", s)
			}
			b, _ := json.Marshal(x) // sorted keys
			return string(b), true, nil
		}
	}
	return "", false, fmt.Errorf("a %s column holds %T", k, v)
}

// asTime reads a time as drivers return it: Unix milliseconds (as
// clerk-sync and Prisma write DateTime on SQLite, and as the PostgreSQL
// driver selects it), a time.Time, or SQLite's own CURRENT_TIMESTAMP text.
func asTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case int64:
		return time.UnixMilli(v).UTC(), nil
	case float64:
		return time.UnixMilli(int64(v)).UTC(), nil
	case time.Time:
		return v.UTC(), nil
	case string:
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.UnixMilli(ms).UTC(), nil
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC(), nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("a timestamp column holds %v", v)
}

// User builds a row as read: the primary key and key as text, then one
// raw value per column of m.Columns, then the soft-delete column's value
// (nil when the mapping has none).
func (m Mapping) User(id, clerkID string, vals []any, deleted any) (store.User, error) {
	u := store.User{ID: id, ClerkID: clerkID}
	for i, c := range m.Columns {
		s, ok, err := Canonical(c.As, vals[i])
		if err != nil {
			return u, fmt.Errorf("column %q: %w", c.Name, err)
		}
		if !ok {
			continue
		}
		u.Set(string(c.Field), s)
	}
	if m.DeleteColumn != "" && deleted != nil {
		s, ok, err := Canonical(m.DeleteAs, deleted)
		if err != nil {
			return u, fmt.Errorf("column %q: %w", m.DeleteColumn, err)
		}
		switch {
		case ok && m.DeleteAs == Time:
			t, _ := time.Parse(time.RFC3339Nano, s)
			u.Deleted, u.DeletedAt = true, &t
		case ok:
			u.Deleted = s == "true"
		}
	}
	return u, nil
}
