package secretscan

import (
	"archive/tar"
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/secretscan/scantest"
	"github.com/hallmark-dev/hallmark/internal/glob"
)

func TestScanFile(t *testing.T) {
	key := scantest.PrivateKeyPEM(t)
	tests := []struct {
		path, body string
		want       []string // rule ids
	}{
		{"/app/deploy.key", key, []string{"private-key"}},
		{"/app/config.yaml", "tls:\n  key: |\n    " + strings.ReplaceAll(key, "\n", "\n    "), []string{"private-key"}},
		{"/app/sa.json", `{"type": "service_account", "private_key": "` + strings.ReplaceAll(key, "\n", `\n`) + `"}`, []string{"private-key"}},
		{"/root/.ssh/id_rsa", key, []string{"private-key", "ssh-private-key-file"}},
		{"/root/.ssh/id_ed25519", "anything", []string{"ssh-private-key-file"}},
		{"/root/.ssh/id_ed25519.pub", "ssh-ed25519 AAAA... me@host", nil},
		{"/app/token.go", "package auth\n\n// token refreshes the access token.\nfunc token() {}\n", nil},
		{"/app/README.md", "Keep the PRIVATE KEY in a secret, never in the image.\n", nil},
		{"/app/pem.go", "const header = \"" + testPEMHeader + "\"\n", nil},
		{"/app/public.pem", scantest.PublicKeyPEM(t), nil},
		{"/app/.env", "DATABASE_URL=postgres://db/app\n", []string{"dotenv-file"}},
		{"/app/.env.production", "X=1\n", []string{"dotenv-file"}},
		{"/app/.env.example", "API_TOKEN=\n", nil},
		{"/app/.env.sample", "API_TOKEN=\n", nil},
		{"/app/.environment", "x\n", nil},
		{"/home/u/.npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n", nil},
		{"/home/u/.npmrc", "//registry.npmjs.org/:_authToken=" + testNPM + "\n", []string{"npm-token", "npmrc-auth"}},
		{"/home/u/.npmrc", "registry=https://registry.example.com/\n", nil},
		{"/root/.docker/config.json", `{"auths":{"registry.example.com":{"auth":"dXNlcjpwYXNz"}}}`, []string{"docker-config-auth"}},
		{"/root/.docker/config.json", `{"auths":{},"credsStore":"desktop"}`, nil},
		{"/app/config.json", `{"auth":"dXNlcjpwYXNz"}`, nil},
		{"/root/.git-credentials", "https://u:p@github.com\n", []string{"git-credentials-file"}},
		{"/root/.pypirc", "[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc\n", []string{"pypirc-password"}},
		{"/root/.pypirc", "[pypi]\nusername = __token__\n", nil},
		{"/root/.aws/credentials", "[default]\n" + testAWSSecret + "\n", []string{"aws-credentials-file", "aws-secret-access-key"}},
		{"/etc/credentials", "x\n", nil},
		{"/root/.netrc", "machine example.com login ci password hunter2\n", []string{"netrc-password"}},
		{"/app/settings.py", "AWS_KEY = '" + testAWSKeyID + "'\n", []string{"aws-access-key-id"}},
		{"/usr/lib/python3/botocore/data/examples.json", `{"AccessKeyId": "` + testAWSExample + `"}`, nil},
		{"/app/ci.sh", "export GH=" + testGitHub + "\n", []string{"github-token"}},
		{"/app/notify.sh", "SLACK=" + testSlack + "\n", []string{"slack-token"}},
		{"/app/gl.sh", "T=" + testGitLab + "\n", []string{"gitlab-token"}},
		{"/app/web.js", "const t = '" + testJWT + "'\n", nil}, // JWTs are checked in env and labels only
		{"/src/x509/testdata/key.pem", key, nil},
		{"/src/pkg/crypto_test.go", "var k = `" + key + "`\n", nil},
		{"/site-packages/lib/tests/keys.py", key, nil},
		{"/src/testdata/id_rsa", key, []string{"ssh-private-key-file"}}, // name rules still apply
		{"/app/blob.bin", "\x00\x01" + key, nil},
		{"/app/empty.key", "", nil},
	}
	for _, tt := range tests {
		s := newScan()
		if err := s.scanFile(tt.path, int64(len(tt.body)), strings.NewReader(tt.body), 1); err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		var got []string
		for _, f := range s.findings {
			got = append(got, f.rule)
			if f.where != tt.path || f.layer != 1 {
				t.Errorf("%s: finding %+v", tt.path, f)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: rules %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestScanLimits(t *testing.T) {
	key := scantest.PrivateKeyPEM(t)
	big := key + strings.Repeat("x", maxScanFileBytes)
	s := newScan()
	if err := s.scanFile("/app/big.txt", int64(len(big)), strings.NewReader(big), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.scanFile("/app/id_rsa", int64(len(big)), strings.NewReader(big), 1); err != nil {
		t.Fatal(err)
	}
	if len(s.findings) != 1 || s.findings[0].rule != "ssh-private-key-file" {
		t.Errorf("over the file limit, only names count; findings %+v", s.findings)
	}

	s = newScan()
	s.budget = 10
	if err := s.scanFile("/app/deploy.key", int64(len(key)), strings.NewReader(key), 2); err != nil {
		t.Fatal(err)
	}
	warnings, err := s.verdict(nil)
	if err != nil || len(s.findings) != 0 || len(warnings) != 1 || !strings.Contains(warnings[0], "/app/deploy.key and later files were checked by name only") {
		t.Errorf("over the budget: findings %+v, warnings %q, err %v", s.findings, warnings, err)
	}
}

func TestScanLayer(t *testing.T) {
	key := scantest.PrivateKeyPEM(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range []struct {
		name, body string
		typ        byte
	}{
		{"app/", "", tar.TypeDir},
		{"app/deploy.key", key, tar.TypeReg},
		{"app/link.key", "", tar.TypeSymlink},
		{"app/.wh..env", "", tar.TypeReg},
		{"./root/.git-credentials", "x", tar.TypeReg},
		{"app/main", "\x7fELF\x00", tar.TypeReg},
	} {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: "deploy.key"}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	s := newScan()
	if err := s.scanLayer(&buf, 3); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range s.findings {
		got = append(got, f.String())
	}
	want := []string{
		"/app/deploy.key (layer 3): a PEM private key [rule private-key]",
		"/root/.git-credentials (layer 3): a git credential store [rule git-credentials-file]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings %q, want %q", got, want)
	}
	if err := newScan().scanLayer(strings.NewReader("not a tar, but long enough to be read as a header block"+strings.Repeat("?", 600)), 1); err == nil {
		t.Error("a broken layer scanned without error")
	}
}

func TestScanConfig(t *testing.T) {
	s := newScan()
	s.scanConfig(
		[]string{"PATH=/usr/bin", "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D", "BASE_PASSWORD=from-base", "API_TOKEN=x", "EMPTY_SECRET=", "GREETING=" + testGitHub, "AUTH_JWT=" + testJWT, "TOKEN_URL=https://x/token"},
		map[string]string{"org.opencontainers.image.source": "https://github.com/acme/app", "ci.token": testSlack, "base.label": testJWT},
		map[string]bool{"BASE_PASSWORD=from-base": true},
		map[string]string{"base.label": testJWT},
	)
	var got []string
	for _, f := range s.findings {
		got = append(got, f.where+" "+f.rule)
	}
	want := []string{"env:API_TOKEN credential-name", "env:GREETING github-token", "env:AUTH_JWT jwt", "label:ci.token slack-token"}
	if !slices.Equal(got, want) {
		t.Errorf("findings %q, want %q", got, want)
	}
}

func TestScanVerdict(t *testing.T) {
	s := newScan()
	for i := range 12 {
		s.findings = append(s.findings, finding{where: "/app/k" + strings.Repeat("x", i), layer: 2, rule: "private-key", what: "a PEM private key"})
	}
	s.findings = append(s.findings,
		finding{where: "/etc/ssl/private/ssl-cert-snakeoil.key", layer: 2, rule: "private-key", what: "a PEM private key"},
		finding{where: "env:SECRET_KEY_BASE_DUMMY", rule: "credential-name", what: "a credential-like variable name (contains SECRET)"})
	allow, err := glob.CompileAll("allow", []string{"/etc/ssl/private/*.key", "env:SECRET_KEY_BASE_DUMMY"})
	if err != nil {
		t.Fatal(err)
	}
	warnings, err := s.verdict(allow)
	if !errors.Is(err, hallmark.ErrInvalid) {
		t.Fatalf("verdict = %v, want ErrInvalid", err)
	}
	for _, w := range []string{"/app/k (layer 2): a PEM private key [rule private-key]", "; and 2 more", "--secret"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "snakeoil") || len(warnings) != 2 || !strings.Contains(warnings[0], "allowed by the gateway's allowlist (/etc/ssl/private/*.key): /etc/ssl/private/ssl-cert-snakeoil.key") {
		t.Errorf("allowed findings: warnings %q, error %v", warnings, err)
	}

	s = newScan()
	s.findings = s.findings[:0]
	if w, err := s.verdict(nil); err != nil || len(w) != 0 {
		t.Errorf("no findings: %q, %v", w, err)
	}
}

func TestWithAllowPaths(t *testing.T) {
	var o options
	if err := WithAllowPaths("etc/ssl/private/*", "/srv/**", "env:X", "label:a.b")(&o); err != nil {
		t.Fatal(err)
	}
	var raw []string
	for _, g := range o.allow {
		raw = append(raw, g.String())
	}
	if want := []string{"/etc/ssl/private/*", "/srv/**", "env:X", "label:a.b"}; !slices.Equal(raw, want) {
		t.Errorf("patterns %q, want %q", raw, want)
	}
	if err := WithAllowPaths("/ok", "/a/[")(&o); err == nil || !strings.Contains(err.Error(), "[1]") {
		t.Errorf("bad pattern error %v does not name [1]", err)
	}
}
