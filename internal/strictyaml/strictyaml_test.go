package strictyaml

import (
	"errors"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

type doc struct {
	Name  string            `json:"name"`
	Count int               `json:"count,omitempty"`
	Items []item            `json:"items,omitempty"`
	Tags  map[string]string `json:"tags,omitempty"`
	Sub   *item             `json:"sub,omitempty"`
}

type item struct {
	ID string `json:"id"`
}

func TestDecode(t *testing.T) {
	var d doc
	if err := Decode([]byte("name: a\ncount: 2\nitems: [{id: x}]\ntags: {k: v}\nsub: {id: z}\n"), &d, 1<<20); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if d.Name != "a" || d.Count != 2 || d.Items[0].ID != "x" || d.Tags["k"] != "v" || d.Sub.ID != "z" {
		t.Errorf("decoded %+v", d)
	}
	for _, tc := range []struct {
		name, yaml string
		class      error
		want       []string
	}{
		{"unknown field", "name: a\nitems: [{id: x}, {idd: y}]\n", hallmark.ErrInvalid, []string{`items[1]: unknown field "idd"`}},
		{"case matters", "Name: a\n", hallmark.ErrInvalid, []string{`document: unknown field "Name"`}},
		{"every problem", "name: 1\ncount: 1.5\nsub: [x]\ntags: {k: [1]}\n", hallmark.ErrInvalid,
			[]string{"name: want a string, got number 1 (quote it)", "count: want an integer, got number 1.5", "sub: want an object, got a list", "tags.k: want a string"}},
		{"two documents", "name: a\n---\nname: b\n", hallmark.ErrInvalid, []string{"2 YAML documents, want one"}},
		{"empty", "# nothing\n", hallmark.ErrInvalid, []string{"empty document"}},
		{"syntax", "name: [\n", hallmark.ErrInvalid, []string{"parse YAML"}},
		{"duplicate key", "name: a\nname: b\n", hallmark.ErrInvalid, []string{"parse YAML"}},
		{"alias expansion", "a: &a [" + strings.Repeat("x,", 50) + "x]\nb: [*a, *a, *a, *a, *a, *a, *a, *a]\n", hallmark.ErrTooLarge, []string{"expands to"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			err := Decode([]byte(tc.yaml), &d, 500)
			if !errors.Is(err, tc.class) {
				t.Fatalf("Decode = %v, want %v", err, tc.class)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
