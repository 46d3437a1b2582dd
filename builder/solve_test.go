package builder

import (
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

// TestFrontendAttrsDockerfileSource: the frontend reads the Dockerfile the
// request names, and nothing else. With a git context it would read the
// Dockerfile from the commit unless told to use the local one, so an
// inline Dockerfile must force it (dockerfilekey).
func TestFrontendAttrsDockerfileSource(t *testing.T) {
	git := &hallmark.GitSource{URL: "https://git.example/app.git", Commit: "0123456789abcdef0123456789abcdef01234567"}
	tests := []struct {
		name              string
		req               hallmark.BuildRequest
		in                inputs
		wantKey, wantFile string
	}{
		{name: "uploaded context", req: hallmark.BuildRequest{}, in: inputs{contextDir: "/c", dockerfileDir: "/c", dockerfileKey: "Dockerfile"}},
		{name: "git, Dockerfile from the commit", req: hallmark.BuildRequest{Git: git}, in: inputs{dockerfileKey: "Dockerfile"}, wantFile: gitContext(git)},
		{name: "git, inline Dockerfile", req: hallmark.BuildRequest{Git: git}, in: inputs{dockerfileDir: "/d", dockerfileKey: "Dockerfile"}, wantKey: "dockerfile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := frontendAttrs(tt.req, tt.in)
			if a["dockerfilekey"] != tt.wantKey || a["dockerfile"] != tt.wantFile || a["filename"] != "Dockerfile" {
				t.Errorf("frontendAttrs = %v; want dockerfilekey %q, dockerfile %q", a, tt.wantKey, tt.wantFile)
			}
		})
	}
}
