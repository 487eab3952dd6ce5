package scenario

import (
	"errors"
	"fmt"
	"strings"
)

// refKind is the source a reference reads.
type refKind int

const (
	refStep refKind = iota // ${step:path}
	refEnv                 // ${.env:VAR}
	refID                  // ${.id:prefix}
	refNow                 // ${.now}
)

// ref is one ${…} reference.
type ref struct {
	text   string // as written, for error messages
	kind   refKind
	step   string // refStep: the step's name, without "#i"
	index  int    // refStep: i of "step#i", 0 when absent
	arg    string // the path, variable or prefix
	def    string
	hasDef bool
}

// segment is a literal run of text or a reference.
type segment struct {
	lit string
	ref *ref
}

// template is a string value with its references parsed.
type template []segment

func (t template) hasRefs() bool {
	for _, seg := range t {
		if seg.ref != nil {
			return true
		}
	}
	return false
}

// parseTemplate splits text into literals and references. A reference
// ends at the first "}", so neither paths nor defaults can contain one.
func parseTemplate(text string) (template, error) {
	t := template{}
	for text != "" {
		start := strings.Index(text, "${")
		if start < 0 {
			return append(t, segment{lit: text}), nil
		}
		if start > 0 {
			t = append(t, segment{lit: text[:start]})
		}
		end := strings.IndexByte(text[start:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%q: no closing }", text[start:])
		}
		r, err := parseRef(text[start+2 : start+end])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", text[start:start+end+1], err)
		}
		t = append(t, segment{ref: r})
		text = text[start+end+1:]
	}
	return t, nil
}

// parseRef parses what is between "${" and "}": source:argument|default,
// the way Stripe CLI's fixtures write it.
func parseRef(inner string) (*ref, error) {
	r := &ref{text: "${" + inner + "}"}
	expr, def, hasDef := strings.Cut(inner, "|")
	r.def, r.hasDef = def, hasDef
	source, arg, hasArg := strings.Cut(expr, ":")
	r.arg = arg
	switch source {
	case ".now":
		r.kind = refNow
		if hasArg || hasDef {
			return nil, errors.New("${.now} takes no argument")
		}
		return r, nil
	case ".env":
		r.kind = refEnv
	case ".id":
		r.kind = refID
		if hasDef {
			return nil, errors.New("${.id:prefix} takes no default")
		}
	default:
		if strings.HasPrefix(source, ".") {
			return nil, fmt.Errorf("unknown source %q (known: a step's name, .env, .id, .now)", source)
		}
		r.kind = refStep
		step, index, err := splitIndex(source)
		if err != nil {
			return nil, err
		}
		if err := checkName(step); err != nil {
			return nil, fmt.Errorf("step name: %w", err)
		}
		r.step, r.index = step, index
	}
	if arg == "" {
		return nil, fmt.Errorf("want %s:… with a non-empty argument", source)
	}
	return r, nil
}

// value is what a reference resolves to: a string, or the raw JSON of
// any other value.
type value struct {
	str  string
	json string // set when the value is not a string
}

func (v value) text() string {
	if v.json != "" {
		return v.json
	}
	return v.str
}
