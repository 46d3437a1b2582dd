package registry

import "testing"

func TestFallbackPath(t *testing.T) {
	for path, want := range map[string]string{
		"/v2/app/referrers/sha256:abc":          "/v2/app/manifests/sha256-abc",
		"/v2/team/app/referrers/sha512:0f":      "/v2/team/app/manifests/sha512-0f",
		"/v2/app/referrers/sha256:abc/x":        "",
		"/v2/app/referrers/sha256abc":           "",
		"/v2/app/referrers/:abc":                "",
		"/v2//referrers/sha256:abc":             "",
		"/v2/app/manifests/sha256:abc":          "",
		"/v1/app/referrers/sha256:abc":          "",
		"/v2/app/referrers/sha256:":             "",
		"/v2/a/referrers/b/referrers/sha256:ab": "",
	} {
		got, ok := fallbackPath(path)
		if got != want || ok != (want != "") {
			t.Errorf("fallbackPath(%q) = %q, %v; want %q", path, got, ok, want)
		}
	}
}
