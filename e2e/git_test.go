//go:build e2e

package e2e

import (
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitServer serves a one-commit repository over smart HTTP with git's own
// http-backend and returns its URL and the commit.
func gitServer(t *testing.T, files map[string]string) (url, commit string) {
	t.Helper()
	root := t.TempDir()
	work := filepath.Join(root, "work")
	for name, body := range files {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@example.com",
			"GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git(work, "init", "-q", "-b", "main")
	git(work, "add", ".")
	git(work, "commit", "-q", "-m", "e2e")
	commit = git(work, "rev-parse", "HEAD")
	git(root, "clone", "-q", "--bare", work, "repo.git")
	srv := httptest.NewServer(&cgi.Handler{
		Path: "/usr/lib/git-core/git-http-backend",
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	})
	t.Cleanup(srv.Close)
	return srv.URL + "/repo.git", commit
}

// TestBuildFromGit builds a git repository at a commit that BuildKit fetches
// itself; the gateway pins the bases of the Dockerfile read from that commit.
func TestBuildFromGit(t *testing.T) {
	st := env.stack.State
	url, commit := gitServer(t, map[string]string{
		"app/Dockerfile":  "ARG BASE\nFROM ${BASE}\nCOPY message.txt /etc/message.txt\nUSER 65532\n",
		"app/message.txt": "from git\n",
	})
	tag := st.Registry + "/e2e/git:v1"
	stdout, stderr, err := runCLI(t, "build", "--progress", "plain", "-t", tag,
		"--build-arg", "BASE="+st.BaseImage, url+"#"+commit+":app")
	if err != nil {
		t.Fatalf("hallmark build: %v\n%s", err, stderr)
	}
	pinned := strings.TrimSpace(stdout)
	desc, err := remoteImage(t, tag)
	if err != nil {
		t.Fatalf("fetch %s: %v", tag, err)
	}
	if !strings.HasSuffix(pinned, "@"+desc.Digest.String()) {
		t.Errorf("%s resolves to %s, the build printed %s", tag, desc.Digest, pinned)
	}
	if !strings.Contains(stderr, "pinned") || !strings.Contains(stderr, st.BaseImage) {
		t.Errorf("progress does not show the pinned base:\n%s", stderr)
	}

	// A git source with an inline Dockerfile names the repository in the
	// provenance although the recipe never came from it: the shipped
	// source-allowlist policy allows the git Dockerfile and denies it. And
	// the inline recipe is the one built (BuildKit read the commit's
	// Dockerfile instead until the gateway forced the local one).
	t.Run("inline Dockerfile with a git source", func(t *testing.T) {
		inlineTag := st.Registry + "/e2e/git:inline"
		cmd := exec.CommandContext(t.Context(), filepath.Join(env.bin, "hallmark"), "build", "--progress", "plain", "-t", inlineTag,
			"--build-arg", "BASE="+st.BaseImage, "-f", "-", url+"#"+commit+":app")
		cmd.Env = append(os.Environ(), "HALLMARK_DEV_DIR="+env.stack.Dir, "HALLMARK_GATEWAY="+env.stack.Gateway)
		cmd.Stdin = strings.NewReader("ARG BASE\nFROM ${BASE}\nCOPY message.txt /etc/inline.txt\nUSER 65532\n")
		var progress strings.Builder
		cmd.Stderr = &progress
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("hallmark build -f -: %v\n%s", err, progress.String())
		}
		inline := strings.TrimSpace(string(out))
		// The image is built from the inline recipe, not the commit's.
		if inline == pinned || !strings.Contains(progress.String(), "COPY message.txt /etc/inline.txt") {
			t.Fatalf("the inline Dockerfile was not the one built (git build %s, inline build %s):\n%s", pinned, inline, progress.String())
		}
		doc, err := os.ReadFile(filepath.Join(env.repo, "examples", "policies", "source-allowlist.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		// Allowlist this test's git server instead of the example's URLs.
		s := string(doc)
		s = s[:strings.Index(s, "in [")] + "in [\"" + url + "\"]\n" + s[strings.Index(s, "    - name: recipe-from-source"):]
		policy := filepath.Join(t.TempDir(), "source-allowlist.yaml")
		if err := os.WriteFile(policy, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if stdout, stderr, err := runCLI(t, "verify", "--offline", "--policy", policy, pinned); err != nil {
			t.Errorf("the git Dockerfile's image under source-allowlist: %v\n%s\n%s", err, stdout, stderr)
		}
		stdout, stderr, err := runCLI(t, "verify", "--offline", "--policy", policy, inline)
		if code := exitCode(err); code != 1 || !strings.Contains(stdout+stderr, "recipe-from-source") {
			t.Errorf("the inline Dockerfile's image under source-allowlist: exit %d, want 1 naming recipe-from-source\n%s\n%s", code, stdout, stderr)
		}
	})

	t.Run("unknown commit", func(t *testing.T) {
		_, stderr, err := runCLI(t, "build", "--progress", "plain", "-t", st.Registry+"/e2e/git:nope",
			url+"#"+strings.Repeat("0", 40))
		if err == nil {
			t.Fatal("build of a commit that does not exist succeeded")
		}
		if !strings.Contains(stderr, "not_found") {
			t.Errorf("stderr does not report not_found:\n%s", stderr)
		}
	})
	t.Run("branch instead of commit", func(t *testing.T) {
		_, stderr, err := runCLI(t, "build", "-t", st.Registry+"/e2e/git:branch", url+"#main")
		if err == nil || !strings.Contains(stderr, "full commit id") {
			t.Fatalf("err = %v, stderr:\n%s", err, stderr)
		}
	})
}
