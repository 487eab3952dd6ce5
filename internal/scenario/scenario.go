package scenario

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/clerk-sync/clerk-sync/fixtures"
)

// Errors that the command maps to a usage error (exit 2).
var (
	// ErrUnknown: no built-in scenario of that name and no such file.
	ErrUnknown = errors.New("unknown scenario")
	// ErrInvalid: the scenario is malformed, or one of its references
	// cannot be resolved.
	ErrInvalid = errors.New("invalid scenario")
)

// maxCount bounds a step's count: a scenario is a test case, not a load
// test (that is `mockclerk send --count`).
const maxCount = 10000

//go:embed builtin/*.json
var builtinFiles embed.FS

// Scenario is a parsed scenario file; see the package documentation for
// the format.
type Scenario struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Steps       []Step   `json:"steps"`
	Send        []string `json:"send,omitempty"` // nil: every step once, in order
}

// Step is one event of a scenario.
type Step struct {
	Name  string `json:"name"`
	Event string `json:"event"`
	// User, Org and Membership name the entities the event is about, each
	// where its event type has one (see subjects).
	User       string                     `json:"user,omitempty"`
	Org        string                     `json:"org,omitempty"`
	Membership string                     `json:"membership,omitempty"`
	Set        map[string]json.RawMessage `json:"set,omitempty"`
	// Count is a whole number or a string of ${.env:…} references; empty
	// means the step happens once and is not numbered.
	Count json.RawMessage `json:"count,omitempty"`
}

// Builtins lists the names of the built-in scenarios, sorted.
func Builtins() []string {
	files, _ := fs.Glob(builtinFiles, "builtin/*.json")
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(path.Base(f), ".json"))
	}
	slices.Sort(names)
	return names
}

// Load returns the built-in scenario of that name or, failing that, parses
// the file at that path. An error wraps ErrUnknown when it is neither, and
// ErrInvalid when the file is not a valid scenario.
func Load(nameOrPath string) (*Scenario, error) {
	if slices.Contains(Builtins(), nameOrPath) {
		data, err := builtinFiles.ReadFile("builtin/" + nameOrPath + ".json")
		if err != nil {
			return nil, fmt.Errorf("built-in scenario %s: %w", nameOrPath, err)
		}
		return Parse(data)
	}
	data, err := os.ReadFile(nameOrPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %q: not a built-in (%s) and no such file", ErrUnknown, nameOrPath, strings.Join(Builtins(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", nameOrPath, err)
	}
	return s, nil
}

// Parse decodes and checks a scenario: everything that can be checked
// before generating events is, so that a broken file fails at once. Errors
// wrap ErrInvalid.
func Parse(data []byte) (*Scenario, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the scenario's JSON object", ErrInvalid)
	}
	if _, err := s.compile(); err != nil {
		return nil, err
	}
	return &s, nil
}

// compiled is a checked scenario with its references parsed.
type compiled struct {
	steps []compiledStep
	names []string       // every step's name, in file order
	index map[string]int // step name → position in steps
}

type compiledStep struct {
	Step
	repeats bool     // has a count: its instances are "name#i"
	count   template // nil when the count is a literal (or absent)
	fixed   int      // the literal count, 1 when absent
	user    template // nil when the step names no user
	org     template // nil when the step names no organization
	member  template // nil when the step names no membership
	set     []setting
}

// setting is one entry of a step's set.
type setting struct {
	path string
	tmpl template        // for a string value
	raw  json.RawMessage // for any other JSON value
}

// compile checks s and parses its references. It runs on every Plan too,
// so that a Scenario built in code gets the same checks as a parsed one.
func (s *Scenario) compile() (*compiled, error) {
	if err := checkName(s.Name); err != nil {
		return nil, fmt.Errorf("%w: name: %w", ErrInvalid, err)
	}
	if len(s.Steps) == 0 {
		return nil, s.errorf("", "no steps")
	}
	c := &compiled{index: make(map[string]int, len(s.Steps))}
	for _, st := range s.Steps {
		c.names = append(c.names, st.Name)
	}
	for i, st := range s.Steps {
		if err := checkName(st.Name); err != nil {
			return nil, s.errorf("", "step %d: name: %v", i+1, err)
		}
		if _, dup := c.index[st.Name]; dup {
			return nil, s.errorf(st.Name, "two steps have this name")
		}
		cs, err := s.compileStep(c, st)
		if err != nil {
			return nil, err
		}
		c.index[st.Name] = i
		c.steps = append(c.steps, cs)
	}
	if s.Send != nil && len(s.Send) == 0 {
		return nil, s.errorf("", "send is empty: leave it out to send every step once")
	}
	for _, name := range s.Send {
		base, n, err := splitIndex(name)
		if err == nil {
			err = c.checkStepRef(base, n, len(c.steps))
		}
		if err != nil {
			return nil, s.errorf("", "send %q: %v", name, err)
		}
	}
	return c, nil
}

func (s *Scenario) compileStep(c *compiled, st Step) (compiledStep, error) {
	cs := compiledStep{Step: st, fixed: 1}
	if _, err := fixtures.Event(st.Event); err != nil {
		return cs, s.errorf(st.Name, "event: %v", err)
	}
	here := len(c.steps)
	user, org, member := subjects(st.Event)
	for _, sub := range []struct {
		rule rule
		text string
		tmpl *template
	}{{user, st.User, &cs.user}, {org, st.Org, &cs.org}, {member, st.Membership, &cs.member}} {
		if err := sub.rule.check(st.Event, sub.text); err != nil {
			return cs, s.errorf(st.Name, "%s: %v", sub.rule.field, err)
		}
		if sub.text == "" {
			continue
		}
		t, err := c.compileTemplate(sub.text, here, false)
		if err != nil {
			return cs, s.errorf(st.Name, "%s: %v", sub.rule.field, err)
		}
		*sub.tmpl = t
	}
	if len(st.Count) > 0 {
		if err := c.compileCount(&cs, here); err != nil {
			return cs, s.errorf(st.Name, "count: %v", err)
		}
	}
	paths := make([]string, 0, len(st.Set))
	for p := range st.Set {
		paths = append(paths, p)
	}
	// Sorted so that overlapping paths and ${.id} draws happen in the same
	// order on every run.
	slices.Sort(paths)
	for _, p := range paths {
		set, err := c.compileSetting(p, st.Set[p], here)
		if err != nil {
			return cs, s.errorf(st.Name, "set %q: %v", p, err)
		}
		cs.set = append(cs.set, set)
	}
	return cs, nil
}

func (c *compiled) compileCount(cs *compiledStep, here int) error {
	cs.repeats = true
	var text string
	if !isString(cs.Count) {
		if err := json.Unmarshal(cs.Count, &cs.fixed); err != nil {
			return fmt.Errorf("want a whole number or a string such as \"${.env:N|25}\", not %s", cs.Count)
		}
		return checkCount(cs.fixed)
	}
	if err := json.Unmarshal(cs.Count, &text); err != nil {
		return err
	}
	t, err := c.compileTemplate(text, here, true)
	if err != nil {
		return err
	}
	if !t.hasRefs() {
		// A number written as a string: check it now rather than at Plan.
		n, err := strconv.Atoi(text)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", text)
		}
		cs.fixed = n
		return checkCount(n)
	}
	cs.count = t
	return nil
}

func checkCount(n int) error {
	if n < 1 || n > maxCount {
		return fmt.Errorf("%d is out of range (1 to %d)", n, maxCount)
	}
	return nil
}

func (c *compiled) compileSetting(p string, raw json.RawMessage, here int) (setting, error) {
	if p == "" {
		return setting{}, errors.New("empty path")
	}
	if isString(raw) {
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			return setting{}, err
		}
		t, err := c.compileTemplate(text, here, false)
		return setting{path: p, tmpl: t}, err
	}
	if bytes.Contains(raw, []byte("${")) {
		return setting{}, errors.New("references work in string values only: set the inner field by its path instead")
	}
	return setting{path: p, raw: raw}, nil
}

// compileTemplate parses text and checks that each step it refers to comes
// before the step at position here. envOnly limits it to ${.env:…}.
func (c *compiled) compileTemplate(text string, here int, envOnly bool) (template, error) {
	t, err := parseTemplate(text)
	if err != nil {
		return nil, err
	}
	for _, seg := range t {
		r := seg.ref
		switch {
		case r == nil:
		case envOnly && r.kind != refEnv:
			return nil, fmt.Errorf("%s: only ${.env:…} references are allowed here", r.text)
		case r.kind == refStep:
			if err := c.checkStepRef(r.step, r.index, here); err != nil {
				return nil, fmt.Errorf("%s: %w", r.text, err)
			}
			if c.steps[c.index[r.step]].repeats && r.index == 0 {
				return nil, fmt.Errorf("%s: step %q repeats (count): name one of them, e.g. %s#1", r.text, r.step, r.step)
			}
		}
	}
	return t, nil
}

// checkStepRef checks that step base comes before the step at position
// here and, for "base#n", that it repeats and has an n-th instance when
// that is known already.
func (c *compiled) checkStepRef(base string, n, here int) error {
	switch i := slices.Index(c.names, base); {
	case i < 0:
		return fmt.Errorf("no step named %q", base)
	case i == here:
		return errors.New("a step cannot refer to itself")
	case i > here:
		return fmt.Errorf("step %q comes later: a reference can only look back", base)
	}
	st := c.steps[c.index[base]]
	switch {
	case n > 0 && !st.repeats:
		return fmt.Errorf("step %q has no count: write %q", base, base)
	case n > 0 && st.count == nil && n > st.fixed:
		return fmt.Errorf("step %q happens %d times, there is no #%d", base, st.fixed, n)
	}
	return nil
}

// isString reports whether raw is a JSON string (json.Unmarshal would
// also take null for one).
func isString(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '"'
}

// errorf makes an ErrInvalid error naming the scenario and, when given,
// the step.
func (s *Scenario) errorf(step, format string, args ...any) error {
	where := fmt.Sprintf("%q", s.Name)
	if step != "" {
		where += fmt.Sprintf(": step %q", step)
	}
	return fmt.Errorf("%w %s: %s", ErrInvalid, where, fmt.Sprintf(format, args...))
}

// checkName accepts the names of scenarios and steps: the characters that
// cannot be confused with the syntax of references and of "name#i".
func checkName(name string) error {
	if name == "" {
		return errors.New("missing")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("%q: use letters, digits, _ and - only", name)
		}
	}
	return nil
}

// splitIndex splits "name#3" into "name" and 3; a plain name gives 0.
func splitIndex(s string) (string, int, error) {
	base, num, ok := strings.Cut(s, "#")
	if !ok {
		return s, 0, nil
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("%q: want name#N with N from 1", s)
	}
	return base, n, nil
}
