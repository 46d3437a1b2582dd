package version

import (
	"slices"
	"testing"
)

// FuzzCompare parses and compares arbitrary strings in every ordering: it
// must never panic, and a version equals itself.
func FuzzCompare(f *testing.F) {
	for _, tc := range ordered {
		for i := 1; i < len(tc.versions); i++ {
			f.Add(tc.versions[i-1], tc.versions[i])
		}
	}
	f.Add("1:", "~~")
	f.Add("1.0_p", "1.0-r")
	f.Add("99999999999999999999", "1")
	f.Add("1!1.0.post1.dev1+abc", "v=1")
	ecosystems := Ecosystems()
	slices.Sort(ecosystems)
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, e := range append(ecosystems, "") {
			o := SemVer()
			if e != "" {
				o, _ = For(e)
			}
			va, errA := o.Parse(a)
			vb, errB := o.Parse(b)
			_, _ = o.Compare(a, b)
			if errA == nil {
				if c := va.Compare(va); c != 0 {
					t.Errorf("%s: Compare(%q, itself) = %d", o.Name(), a, c)
				}
				_ = va.String()
			}
			if errA == nil && errB == nil {
				_ = va.Compare(vb)
				_ = vb.Compare(va)
			}
		}
	})
}
