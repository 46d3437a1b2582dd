package sbom

import (
	"strings"
	"testing"
)

func TestIsPythonMetadata(t *testing.T) {
	for p, want := range map[string]bool{
		"/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA":               true,
		"/usr/local/lib/python3.12/site-packages/requests-2.32.3.dist-info/METADATA": true,
		"/usr/lib/python3/dist-packages/crcmod-1.7.egg-info/PKG-INFO":                true,
		"/usr/lib/python3/dist-packages/six-1.16.0.egg-info":                         true,
		"/opt/lib/FOO-1.0.DIST-INFO/METADATA":                                        true,
		"/opt/lib/FOO-1.0.EGG-INFO/PKG-INFO":                                         true,
		"/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/RECORD":                 false,
		"/usr/lib/python3/dist-packages/crcmod-1.7.egg-info/top_level.txt":           false,
		"/srv/METADATA":         false,
		"/srv/PKG-INFO":         false,
		"/srv/x.dist-info":      false,
		"/srv/sdist/PKG-INFO.d": false,
	} {
		if got := isPythonMetadata(p); got != want {
			t.Errorf("isPythonMetadata(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestParsePythonMetadata(t *testing.T) {
	tests := []struct {
		name, in                    string
		wantName, wantPURL, license string
		wantErr                     bool
	}{
		{"wheel", "Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\nLicense: MIT\nClassifier: A\nClassifier: B\n\nlong description\nName: other\n",
			"PyYAML", "pkg:pypi/pyyaml@6.0", "MIT", false},
		{"license expression wins", "Name: my_pkg\nVersion: 1.0.post1\nLicense: a long license text\n  continued\nLicense-Expression: Apache-2.0 OR MIT\n",
			"my_pkg", "pkg:pypi/my-pkg@1.0.post1", "Apache-2.0 OR MIT", false},
		{"license text is no license", "Name: x\nVersion: 1\nLicense: Copyright (c) someone\n  Permission is hereby granted\n",
			"x", "pkg:pypi/x@1", "", false},
		{"UNKNOWN", "Name: x\r\nVersion: 2\r\nLicense: UNKNOWN\r\n", "x", "pkg:pypi/x@2", "", false},
		{"no version", "Name: x\n", "", "", "", true},
		{"garbage", "\x00\x01 not metadata", "", "", "", true},
		{"malformed after the fields", "Name: x\nVersion: 3\nthis is not a header\n", "x", "pkg:pypi/x@3", "", true},
		{"malformed before the fields", "Metadata-Version: 1.0\nnot a header\n: nor this\nName: y\nVersion: 4\n\nName: z\n", "y", "pkg:pypi/y@4", "", true},
		{"blank lines first", "\n\r\nName: x\nVersion: 5\n\nVersion: 6\n", "x", "pkg:pypi/x@5", "", false},
		{"the interpreter itself", "Metadata-Version: 1.0\nName: Python\nVersion: 2.7.18\n", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkgs, err := parsePythonMetadata(strings.NewReader(tt.in), int64(len(tt.in)))
			if (err != nil) != tt.wantErr {
				t.Errorf("error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantName == "" {
				if len(pkgs) != 0 {
					t.Errorf("packages = %+v, want none", pkgs)
				}
				return
			}
			if len(pkgs) != 1 || pkgs[0].Name != tt.wantName || pkgs[0].PURL != tt.wantPURL || pkgs[0].License != tt.license || pkgs[0].Type != "pypi" {
				t.Errorf("packages = %+v, want %s %s license %q", pkgs, tt.wantName, tt.wantPURL, tt.license)
			}
		})
	}
}

func TestParsePythonMetadataBounded(t *testing.T) {
	in := "Name: x\nVersion: 1\nSummary: " + strings.Repeat("y", 2*maxPythonHeaderBytes) + "\n"
	if pkgs, err := parsePythonMetadata(strings.NewReader(in), int64(len(in))); err == nil || len(pkgs) != 1 {
		t.Errorf("a header over the limit: %+v, %v; want the package and an error", pkgs, err)
	}
}

func TestNormalizePyPI(t *testing.T) {
	for in, want := range map[string]string{
		"PyYAML": "pyyaml", "my_pkg": "my-pkg", "zope.interface": "zope-interface",
		"Foo-._Bar": "foo-bar", "-x-": "-x-", "a__": "a-",
	} {
		if got := normalizePyPI(in); got != want {
			t.Errorf("normalizePyPI(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestGeneratePython: installed distributions of every form are cataloged
// with their evidence, a distribution a later layer removed is not, and
// the document says where they came from.
func TestGeneratePython(t *testing.T) {
	sp := "usr/local/lib/python3.12/site-packages/"
	img := image(t,
		layer(t,
			file(sp+"requests-2.32.3.dist-info/METADATA", []byte("Metadata-Version: 2.1\nName: requests\nVersion: 2.32.3\nLicense: Apache-2.0\n")),
			file(sp+"old_lib-0.1.dist-info/METADATA", []byte("Name: old_lib\nVersion: 0.1\n")),
			file("usr/lib/python3/dist-packages/crcmod-1.7.egg-info/PKG-INFO", []byte("Name: crcmod\nVersion: 1.7\n")),
			file("usr/lib/python3/dist-packages/six-1.16.0.egg-info", []byte("Name: six\nVersion: 1.16.0\nLicense: MIT\n")),
			file(sp+"broken-1.dist-info/METADATA", []byte("no headers here")),
		),
		layer(t, whiteout(sp+".wh.old_lib-0.1.dist-info")),
	)
	doc, err := Generate(t.Context(), img)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range doc.Packages() {
		got[p.PURL] = p.Path + " " + p.License
	}
	want := map[string]string{
		"pkg:pypi/requests@2.32.3": "/" + sp + "requests-2.32.3.dist-info/METADATA Apache-2.0",
		"pkg:pypi/crcmod@1.7":      "/usr/lib/python3/dist-packages/crcmod-1.7.egg-info/PKG-INFO ",
		"pkg:pypi/six@1.16.0":      "/usr/lib/python3/dist-packages/six-1.16.0.egg-info MIT",
	}
	if len(got) != len(want) {
		t.Errorf("packages %v, want %v", got, want)
	}
	for purl, w := range want {
		if got[purl] != w {
			t.Errorf("%s: %q, want %q", purl, got[purl], w)
		}
	}
	if w := doc.Warnings(); len(w) != 1 || !strings.Contains(w[0], "broken-1.dist-info") {
		t.Errorf("warnings %q, want one about the broken METADATA", w)
	}
	b, err := doc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "cataloged from the metadata of an installed Python distribution") {
		t.Error("the document does not say where the Python packages came from")
	}
}
