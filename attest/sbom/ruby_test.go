package sbom

import (
	"strings"
	"testing"
)

func TestParseGemspec(t *testing.T) {
	const head = "# -*- encoding: utf-8 -*-\n# stub: rack 2.2.22 ruby lib\n\nGem::Specification.new do |s|\n"
	tests := []parseCase{
		{"rubygems to_ruby", head + "  s.name = \"rack\".freeze\n  s.version = \"2.2.22\"\n\n  s.required_rubygems_version = Gem::Requirement.new(\">= 0\".freeze) if s.respond_to? :required_rubygems_version=\n  s.rubygems_version = \"3.3.15\".freeze\n  s.licenses = [\"MIT\".freeze]\nend\n", "pkg:gem/rack@2.2.22", "MIT", false},
		{"licenses are a choice", "s.name = \"json\"\ns.version = \"2.6.1\"\ns.licenses = [\"Ruby\".freeze, \"BSD-2-Clause\".freeze]\n", "pkg:gem/json@2.6.1", "Ruby OR BSD-2-Clause", false},
		{"an expression in a list", "s.name = 'x'\ns.version = '1.0'\ns.licenses = ['MIT', 'GPL-2.0 WITH Classpath-exception-2.0']\n", "pkg:gem/x@1.0", "MIT OR (GPL-2.0 WITH Classpath-exception-2.0)", false},
		{"singular license, other receiver, CRLF", "spec.name = \"y\"\r\nspec.version = \"0.1.0.pre\"\r\nspec.license = \"Apache-2.0\"\r\n", "pkg:gem/y@0.1.0.pre", "Apache-2.0", false},
		{"a later assignment wins", "s.name = \"a\"\ns.name = \"b\"\ns.version = \"1\"\ns.version = \"2\"\n", "pkg:gem/b@2", "", false},
		{"escapes", "s.name = \"caf\\u00E9\"\ns.version = \"1\"\n", "pkg:gem/caf%C3%A9@1", "", false},
		{"trailing condition ignored", "s.name = \"z\".freeze if true\ns.version = \"3\" # comment \"x\"\n", "pkg:gem/z@3", "", false},
		{"not an assignment", "s.name == \"n\"\ns.name =~ /x/\ns.name = \"n\"\ns.version = \"1\"\n", "pkg:gem/n@1", "", false},
		{"hand-written: version is code", "Gem::Specification.new do |spec|\n  spec.name = \"foo\"\n  spec.version = Foo::VERSION\nend\n", "", "", true},
		{"interpolation is not a literal", "s.name = \"#{x}\"\ns.version = \"1\"\n", "", "", true},
		{"unterminated", "s.name = \"rack\ns.version = \"1\"\n", "", "", true},
		{"other fields only", "s.homepage = \"https://x.name = 'y'\"\ns.rubygems_version = \"3.3.15\"\ns.required_ruby_version = \">= 2\"\n", "", "", true},
		{"empty", "", "", "", true},
	}
	runParseCases(t, "gem", parseGemspec, tests)
}

// TestParseGemspecLongLine: a file list longer than the line limit is
// skipped, and the fields after it are still read.
func TestParseGemspecLongLine(t *testing.T) {
	in := "s.name = \"big\"\ns.files = [" + strings.Repeat("\"lib/x.rb\".freeze, ", maxGemspecLine/18) + "]\ns.version = \"1.0\"\ns.licenses = [\"MIT\"]\n"
	pkgs, err := parseGemspec(strings.NewReader(in), int64(len(in)))
	if err != nil || len(pkgs) != 1 || pkgs[0].PURL != "pkg:gem/big@1.0" || pkgs[0].License != "MIT" {
		t.Errorf("parseGemspec = %+v, %v; want pkg:gem/big@1.0 (MIT)", pkgs, err)
	}
}

func TestIsInstalledGemspec(t *testing.T) {
	for p, want := range map[string]bool{
		"/usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec":                            true,
		"/usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec":                     true,
		"/usr/share/rubygems-integration/all/specifications/rack-2.2.22.gemspec":                 true,
		"/usr/lib/x86_64-linux-gnu/rubygems-integration/3.1.0/specifications/json-2.6.3.gemspec": true,
		"/usr/local/bundle/specifications/rails-7.1.3.gemspec":                                   true,
		"/specifications/a.gemspec":                                        true,
		"/app/myapp.gemspec":                                               false, // a source tree, not an installed gem
		"/usr/local/bundle/gems/rails-7.1.3/rails.gemspec":                 false,
		"/usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec.orig": false,
		"/usr/lib/ruby/gems/3.1.0/my-specifications/x.gemspec":             false,
	} {
		if got := isInstalledGemspec(p); got != want {
			t.Errorf("isInstalledGemspec(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestGenerateRuby: the gemspecs of Debian 12's Ruby and ruby-* packages
// are cataloged, one gem each; a gem removed by a later layer and a
// gemspec over the limit are not, the latter with a warning.
func TestGenerateRuby(t *testing.T) {
	spec := func(name, version string) []byte {
		return []byte("Gem::Specification.new do |s|\n  s.name = \"" + name + "\".freeze\n  s.version = \"" + version + "\"\nend\n")
	}
	const gems = "usr/local/bundle/specifications/"
	layers := rubyLayers(t, layer)
	layers = append(layers,
		layer(t,
			file(gems+"sinatra-4.1.1.gemspec", spec("sinatra", "4.1.1")),
			file(gems+"gone-1.0.gemspec", spec("gone", "1.0")),
			file(gems+"huge-1.0.gemspec", append(spec("huge", "1.0"), strings.Repeat("#", maxGemspecBytes)...)),
			file("app/myapp.gemspec", spec("myapp", "0.1.0")),
		),
		layer(t, whiteout(gems+".wh.gone-1.0.gemspec"), whiteout("usr/share/rubygems-integration/all/specifications/.wh.rack-2.2.22.gemspec")),
	)
	doc, err := Generate(t.Context(), image(t, layers...))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Package{}
	n := 0
	for _, p := range doc.Packages() {
		if p.Type == "gem" {
			got[p.PURL+" "+p.Path] = p
			n++
		}
	}
	// 89 real gemspecs (one whited out) and sinatra.
	if n != 90 {
		t.Errorf("%d gems, want 90", n)
	}
	want := map[string]string{
		"pkg:gem/sinatra@4.1.1 /" + gems + "sinatra-4.1.1.gemspec":                                                              "",
		"pkg:gem/bundler@2.3.7 /usr/lib/ruby/gems/3.1.0/specifications/default/bundler-2.3.7.gemspec":                           "MIT",
		"pkg:gem/json@2.6.1 /usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec":                                 "Ruby",
		"pkg:gem/json@2.6.3 /usr/lib/x86_64-linux-gnu/rubygems-integration/3.1.0/specifications/json-2.6.3.gemspec":             "Ruby",
		"pkg:gem/rake@13.0.6 /usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec":                                       "MIT",
		"pkg:gem/rake@13.0.6 /usr/share/rubygems-integration/all/specifications/rake-13.0.6.gemspec":                            "MIT",
		"pkg:gem/nokogiri@1.13.10 /usr/lib/x86_64-linux-gnu/rubygems-integration/3.1.0/specifications/nokogiri-1.13.10.gemspec": "MIT",
		"pkg:gem/stringio@3.0.1.2 /usr/lib/ruby/gems/3.1.0/specifications/default/stringio-3.0.1.2.gemspec":                     "Ruby OR BSD-2-Clause",
	}
	for k, lic := range want {
		p, ok := got[k]
		if !ok {
			t.Errorf("missing %s", k)
			continue
		}
		if p.License != lic || p.Name == "" || p.Version == "" {
			t.Errorf("%s: %+v, want license %q", k, p, lic)
		}
	}
	for k := range got {
		if strings.Contains(k, "rack@") || strings.Contains(k, "gone@") || strings.Contains(k, "myapp@") || strings.Contains(k, "huge@") {
			t.Errorf("unexpected %s", k)
		}
	}
	if w := doc.Warnings(); len(w) != 1 || !strings.Contains(w[0], "huge-1.0.gemspec") || !strings.Contains(w[0], "limit") {
		t.Errorf("warnings %q, want one about the gemspec over the limit", w)
	}
}
