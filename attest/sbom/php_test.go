package sbom

import (
	"strings"
	"testing"
)

func TestParseInstalledJSON(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // purl and license of each package
		wantErr  bool
	}{
		{"composer 2", `{"packages":[{"name":"symfony/yaml","version":"v5.4.23","license":["MIT"],"autoload":{"psr-4":{"A\\":"src/"}}},{"name":"pear/mail","version":"v1.5.1","license":["BSD-2-Clause"]}],"dev":true,"dev-package-names":[]}`,
			[]string{"pkg:composer/symfony/yaml@v5.4.23 MIT", "pkg:composer/pear/mail@v1.5.1 BSD-2-Clause"}, false},
		{"composer 1", `[{"name":"monolog/monolog","version":"1.27.1","license":["MIT"]},{"name":"psr/log","version":"1.1.4"}]`,
			[]string{"pkg:composer/monolog/monolog@1.27.1 MIT", "pkg:composer/psr/log@1.1.4 "}, false},
		{"licenses are a choice; a string", `{"packages":[{"name":"a/b","version":"1.0.0","license":["LGPL-2.1-only","GPL-3.0-or-later"]},{"name":"c/d","version":"2.0","license":"(MIT and Apache-2.0)"}]}`,
			[]string{"pkg:composer/a/b@1.0.0 LGPL-2.1-only OR GPL-3.0-or-later", "pkg:composer/c/d@2.0 (MIT and Apache-2.0)"}, false},
		{"name of three parts, of one part, dev version", `[{"name":"a/b/c","version":"dev-main"},{"name":"solo","version":"1.0"}]`,
			[]string{"pkg:composer/a/b-c@dev-main ", "pkg:composer/solo@1.0 "}, false},
		{"entries without name or version, wrong types", `{"packages":[{"name":"x/y"},{"version":"1"},{"name":3,"version":"1"},"str",{"name":"ok/pkg","version":"1.2.3","license":7}]}`,
			[]string{"pkg:composer/ok/pkg@1.2.3 "}, true},
		{"truncated: the packages before are kept", `{"packages":[{"name":"a/a","version":"1"},{"name":"b/b","vers`,
			[]string{"pkg:composer/a/a@1 "}, true},
		{"packages is not a list", `{"packages":{"a/a":"1"}}`, nil, true},
		{"no packages", `{"packages":[]}`, nil, false},
		{"other members only", `{"dev":false,"x":[1,{"y":null}]}`, nil, false},
		{"a scalar", `"installed"`, nil, true},
		{"not JSON", `<?php return array();`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkgs, err := parseInstalledJSON(strings.NewReader(tt.in), int64(len(tt.in)))
			if (err != nil) != tt.wantErr {
				t.Errorf("error = %v, want error %v", err, tt.wantErr)
			}
			var got []string
			for _, p := range pkgs {
				if p.Type != "composer" || p.Name == "" || p.Version == "" {
					t.Errorf("package %+v", p)
				}
				got = append(got, p.PURL+" "+p.License)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("packages\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestParseInstalledJSONMediaWiki reads the real installed.json of the
// php fixture.
func TestParseInstalledJSONMediaWiki(t *testing.T) {
	b := testdata(t, "php/mediawiki-installed.json.gz")
	pkgs, err := parseInstalledJSON(strings.NewReader(string(b)), int64(len(b)))
	if err != nil || len(pkgs) != 67 {
		t.Fatalf("%d packages, %v; want 67 and no error", len(pkgs), err)
	}
	if p := pkgs[0]; p.PURL != "pkg:composer/christian-riesen/base32@1.6.0" || p.License != "MIT" {
		t.Errorf("first package %+v", p)
	}
}

func TestParsePearRegistry(t *testing.T) {
	// memcached in package.xml 2.0 (a channel) and 1.0 (none), as in
	// syft's tests.
	v6 := `a:6:{s:4:"name";s:9:"memcached";s:7:"channel";s:12:"pecl.php.net";s:7:"version";a:2:{s:7:"release";s:5:"3.2.0";s:3:"api";s:5:"3.2.0";}s:7:"license";a:2:{s:7:"attribs";a:1:{s:3:"uri";s:26:"http://www.php.net/license";}s:8:"_content";s:11:"PHP License";}s:1:"x";O:8:"stdClass":1:{s:1:"a";b:1;}i:7;d:0.5;}`
	v5 := `a:4:{s:4:"name";s:9:"memcached";s:4:"date";s:10:"2022-01-11";s:7:"version";a:2:{s:7:"release";s:5:"3.2.0";s:3:"api";s:5:"3.2.0";}s:7:"license";s:3:"PHP";}`
	tests := []parseCase{
		{"package.xml 2.0", v6, "pkg:pear/pecl.php.net/memcached@3.2.0", "PHP License", false},
		{"package.xml 1.0: no channel", v5, "pkg:pear/pecl.php.net/memcached@3.2.0", "PHP", false},
		{"damaged after the version", v6[:strings.Index(v6, `s:7:"license"`)] + `s:7:"license";s:99:"PHP`, "pkg:pear/pecl.php.net/memcached@3.2.0", "", true},
		{"no version", `a:1:{s:4:"name";s:1:"x";}`, "", "", true},
		{"version not an array", `a:2:{s:4:"name";s:1:"x";s:7:"version";s:3:"1.0";}`, "", "", true},
		{"string length past the end", `a:1:{s:4:"name";s:999999:"x";}`, "", "", true},
		{"array length larger than the input", `a:99999999999:{`, "", "", true},
		{"nested too deep", strings.Repeat("a:1:{i:0;", 100) + "N;" + strings.Repeat("}", 100), "", "", true},
		{"not serialized", `<?xml version="1.0"?>`, "", "", true},
		{"not an array", `s:1:"x";`, "", "", true},
	}
	runParseCases(t, "pear", parsePearRegistry, tests)
}

func TestPHPPaths(t *testing.T) {
	for p, want := range map[string][2]bool{ // composer, pear
		"/var/www/html/vendor/composer/installed.json":                 {true, false},
		"/app/lib/composer/installed.json":                             {true, false}, // a vendor-dir of another name
		"/app/installed.json":                                          {false, false},
		"/var/www/html/vendor/composer/installed.php":                  {false, false},
		"/usr/share/php/.registry/pear.reg":                            {false, true},
		"/usr/local/lib/php/.registry/.channel.pecl.php.net/redis.reg": {false, true},
		"/usr/share/php/.channels/pecl.php.net.reg":                    {false, false},
		"/usr/share/php/.registry/pear.reg.bak":                        {false, false},
	} {
		if c, r := isComposerInstalled(p), isPearRegistry(p); c != want[0] || r != want[1] {
			t.Errorf("%s: composer %v, pear %v; want %v", p, c, r, want)
		}
	}
}

// TestGeneratePHP: the php fixture's MediaWiki installed.json and
// php-pear registry are cataloged; a registry file removed by a later
// layer and an installed.json over the limit are not, the latter with a
// warning; a channel file is no package.
func TestGeneratePHP(t *testing.T) {
	layers := append(phpLayers(t, layer),
		layer(t,
			file("srv/app/vendor/composer/installed.json", []byte(`{"packages":[{"name":"laravel/framework","version":"v11.9.2","license":["MIT"]}]}`)),
			file("srv/big/vendor/composer/installed.json", []byte(`[`+strings.Repeat(" ", maxInstalledJSONBytes)+`]`)),
		),
		layer(t, whiteout("usr/share/php/.registry/.wh.pear_manpages.reg")),
	)
	doc, err := Generate(t.Context(), image(t, layers...))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	got := map[string]Package{}
	for _, p := range doc.Packages() {
		counts[p.Type]++
		got[p.PURL] = p
	}
	if counts["composer"] != 68 || counts["pear"] != 5 {
		t.Errorf("%d composer and %d pear packages, want 68 and 5", counts["composer"], counts["pear"])
	}
	for purl, want := range map[string]string{
		"pkg:composer/laravel/framework@v11.9.2":     "/srv/app/vendor/composer/installed.json MIT",
		"pkg:composer/wikimedia/less.php@v4.4.1":     "/usr/share/mediawiki/vendor/composer/installed.json Apache-2.0",
		"pkg:composer/pear/console_getopt@v1.4.3":    "/usr/share/mediawiki/vendor/composer/installed.json BSD-2-Clause",
		"pkg:pear/pear.php.net/PEAR@1.10.13":         "/usr/share/php/.registry/pear.reg New BSD License",
		"pkg:pear/pear.php.net/Console_Getopt@1.4.3": "/usr/share/php/.registry/console_getopt.reg BSD-2-Clause",
		"pkg:pear/pear.php.net/XML_Util@1.4.5":       "/usr/share/php/.registry/xml_util.reg BSD License",
	} {
		p, ok := got[purl]
		if !ok {
			t.Errorf("missing %s", purl)
			continue
		}
		if p.Path+" "+p.License != want {
			t.Errorf("%s: %q, want %q", purl, p.Path+" "+p.License, want)
		}
	}
	if _, ok := got["pkg:pear/pear.php.net/PEAR_Manpages@1.10.0"]; ok {
		t.Error("a removed registry file was cataloged")
	}
	if w := doc.Warnings(); len(w) != 1 || !strings.Contains(w[0], "/srv/big/vendor/composer/installed.json") || !strings.Contains(w[0], "limit") {
		t.Errorf("warnings %q, want one about the installed.json over the limit", w)
	}
}
