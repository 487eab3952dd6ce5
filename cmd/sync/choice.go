package main

import (
	"fmt"
	"slices"
	"strings"
)

// choice is a string flag that accepts only some values, so that a wrong
// value is refused with the list wherever it comes from (flag or variable).
type choice struct {
	value   string
	allowed []string
}

func newChoice(def string, allowed ...string) *choice {
	return &choice{value: def, allowed: allowed}
}

func (c *choice) Set(s string) error {
	if !slices.Contains(c.allowed, s) {
		return fmt.Errorf("must be one of %s", strings.Join(c.allowed, ", "))
	}
	c.value = s
	return nil
}

func (c *choice) String() string { return c.value }
func (c *choice) Type() string   { return "string" }
