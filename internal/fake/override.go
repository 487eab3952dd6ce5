package fake

import (
	"fmt"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Override sets the field at path (a gjson/sjson path into the event's
// data, e.g. "first_name" or "public_metadata.plan") to value. A value that
// is valid JSON (a number, true, null, an object) is set as such, anything
// else as a string.
func Override(body []byte, path, value string) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("override: empty path")
	}
	var (
		out []byte
		err error
	)
	if gjson.Valid(value) {
		out, err = sjson.SetRawBytes(body, "data."+path, []byte(value))
	} else {
		out, err = sjson.SetBytes(body, "data."+path, value)
	}
	if err != nil {
		return nil, fmt.Errorf("override %s: %w", path, err)
	}
	if !gjson.ValidBytes(out) {
		return nil, fmt.Errorf("override %s: the event is no longer valid JSON", path)
	}
	return out, nil
}
