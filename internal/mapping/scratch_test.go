package mapping

import (
	"fmt"
	"testing"
)

func TestScratch(t *testing.T) {
	for _, in := range []string{
		"table: User\nkey: [unclosed\n",
		"table: User\n\tkey: x\n",
		"table: User\nkey: clerkId\ncolumns:\n  email: email\n   x: y\n",
		"table: 'User\n",
		"# only a comment\n",
		"",
		"   \n",
		"- a\n- b\n",
		"table: User\nkey: clerkId\ncolumns:\n  clerkId: email\n",
		"table: élèves\nkey: k\n",
		"table: User\nkey: clerkId\n!!binary x: y\n",
		"table: &a User\nkey: *b\n",
		"table: User\nkey: clerkId\nkey: x\n",
		"on_delete:\n  mode: soft\ntable: User\nkey: k\n",
		"table: User\nkey: k\non_delete: soft\n",
		"table: User\nkey: k\ncolumns:\n  n: {field: banned, as: json}\n",
		"table: User\nkey: k\ncolumns:\n  n: nope\n",
	} {
		m, err := Parse([]byte(in))
		fmt.Printf("%q\n  -> %q %v\n", in, m.Model, err)
	}
}
