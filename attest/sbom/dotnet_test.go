package sbom

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseDepsJSON(t *testing.T) {
	const tf = `".NETCoreApp,Version=v8.0"`
	tests := []struct {
		name, path, in string
		want           []string // purls, sorted
		wantErr        bool
	}{
		{"the app, a package, not a referenced project", "/app/Shop.deps.json", `{"targets":{` + tf + `:{
			"Shop/1.2.0":{"dependencies":{"Newtonsoft.Json":"13.0.3","Shop.Core":"1.2.0"},"runtime":{"Shop.dll":{}}},
			"Newtonsoft.Json/13.0.3":{"runtime":{"lib/net6.0/Newtonsoft.Json.dll":{"assemblyVersion":"13.0.0.0"}}},
			"Shop.Core/1.2.0":{"runtime":{"Shop.Core.dll":{}}}}},
			"libraries":{"Shop/1.2.0":{"type":"project"},"Newtonsoft.Json/13.0.3":{"type":"package","sha512":"sha512-x","path":"newtonsoft.json/13.0.3"},"Shop.Core/1.2.0":{"type":"project"}}}`,
			[]string{"pkg:nuget/Newtonsoft.Json@13.0.3", "pkg:nuget/Shop@1.2.0"}, false},
		{"a project not named like the file is not the app", "/app/Other.deps.json", `{"targets":{` + tf + `:{"Shop/1.2.0":{"runtime":{"Shop.dll":{}}}}},"libraries":{"Shop/1.2.0":{"type":"project"}}}`,
			nil, false},
		{"reference assemblies without a hash are skipped", "/a/App.deps.json", `{"targets":{` + tf + `:{
			"Microsoft.AspNetCore.DataProtection/10.0.0.0":{"compile":{"Microsoft.AspNetCore.DataProtection.dll":{}}},
			"Hashed/1.0.0":{"compile":{"Hashed.dll":{}}}}},
			"libraries":{"Microsoft.AspNetCore.DataProtection/10.0.0.0":{"type":"referenceassembly","sha512":""},"Hashed/1.0.0":{"type":"referenceassembly","sha512":"sha512-y"}}}`,
			[]string{"pkg:nuget/Hashed@1.0.0"}, false},
		{"a package claims an assembly itself or through a dependency (cycles too)", "/a/App.deps.json", `{"targets":{` + tf + `:{
			"Meta/1.0.0":{"dependencies":{"Loop/1.0.0":"x","Leaf":"2.0.0"}},
			"Leaf/2.0.0":{"native":{"runtimes/linux-x64/native/libleaf.so":{}}},
			"Empty/1.0.0":{"dependencies":{"Empty2":"1.0.0","Missing":"9.9.9"},"runtime":{}},
			"Empty2/1.0.0":{"dependencies":{"Empty":"1.0.0"}}},
			".NETCoreApp,Version=v8.0/linux-x64":{"Resourceful/3.0.0":{"resources":{"de/R.resources.dll":{"locale":"de"}}}}},
			"libraries":{}}`,
			[]string{"pkg:nuget/Leaf@2.0.0", "pkg:nuget/Meta@1.0.0", "pkg:nuget/Resourceful@3.0.0"}, false},
		{"an IL bundler keeps packages without assemblies", "/a/App.deps.json", `{"targets":{` + tf + `:{
			"Costura.Fody/5.7.0":{},"Merged/1.0.0":{}}},"libraries":{}}`,
			[]string{"pkg:nuget/Costura.Fody@5.7.0", "pkg:nuget/Merged@1.0.0"}, false},
		{"the same library in two frameworks is one package", "", `{"targets":{` + tf + `:{"A/1.0.0":{"runtime":{"A.dll":{}}}},".NETStandard,Version=v2.0":{"A/1.0.0":{}}}}`,
			[]string{"pkg:nuget/A@1.0.0"}, false},
		{"no version, no name", "", `{"targets":{` + tf + `:{"NoVersion":{"runtime":{"a.dll":{}}},"/1.0":{"runtime":{"b.dll":{}}}}}}`,
			[]string{"pkg:nuget/NoVersion"}, false},
		{"no targets", "/a/App.deps.json", `{"runtimeTarget":{"name":".NETCoreApp,Version=v8.0"}}`, nil, false},
		{"not JSON", "/a/App.deps.json", `{"targets":`, nil, true},
		{"wrong types", "/a/App.deps.json", `{"targets":{"x":{"A/1":{"dependencies":[1]}}}}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkgs, err := parseDepsJSON(tt.path, strings.NewReader(tt.in), int64(len(tt.in)))
			if (err != nil) != tt.wantErr {
				t.Errorf("error = %v, want error %v", err, tt.wantErr)
			}
			var got []string
			for _, p := range pkgs {
				if p.Type != "nuget" || p.Name == "" {
					t.Errorf("package %+v", p)
				}
				got = append(got, p.PURL)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("purls %q, want %q", got, tt.want)
			}
		})
	}
}

// TestParseDepsJSONReal reads a deps.json the .NET SDK wrote for a net6.0
// library: the solution's other project (TestCommon) and the two packages
// that load no assembly (System.Diagnostics.DiagnosticSource, whose only
// dependency is System.Runtime.CompilerServices.Unsafe, which has none)
// are not packages of the app.
func TestParseDepsJSONReal(t *testing.T) {
	b := testdata(t, "dotnet/TestLibrary.deps.json")
	pkgs, err := parseDepsJSON("/app/TestLibrary.deps.json", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pkgs {
		got = append(got, p.Name+"@"+p.Version)
	}
	slices.Sort(got)
	want := []string{
		"AWSSDK.Core@3.7.10.6",
		"Microsoft.Extensions.DependencyInjection.Abstractions@6.0.0",
		"Microsoft.Extensions.DependencyInjection@6.0.0",
		"Microsoft.Extensions.Logging.Abstractions@6.0.0",
		"Microsoft.Extensions.Logging@6.0.0",
		"Microsoft.Extensions.Options@6.0.0",
		"Microsoft.Extensions.Primitives@6.0.0",
		"Newtonsoft.Json@13.0.1",
		"Serilog.Sinks.Console@4.0.1",
		"Serilog@2.10.0",
		"TestLibrary@1.0.0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("packages\n%q\nwant\n%q", got, want)
	}
}

// TestParseDepsJSONBounded: a long dependency chain, where the claim of
// the last library reaches every other, is decided in linear time.
func TestParseDepsJSONBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"targets":{"t":{`)
	const n = 20000
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"P` + strconv.Itoa(i) + `/1.0.0":{`)
		if i == n-1 {
			b.WriteString(`"runtime":{"p.dll":{}}}`)
		} else {
			b.WriteString(`"dependencies":{"P` + strconv.Itoa(i+1) + `":"1.0.0","P0":"1.0.0"}}`)
		}
	}
	b.WriteString(`}}}`)
	pkgs, err := parseDepsJSON("", strings.NewReader(b.String()), int64(b.Len()))
	if err != nil || len(pkgs) != n {
		t.Errorf("%d packages, error %v; want %d", len(pkgs), err, n)
	}
}

// TestGenerateDotnet: a deps.json is cataloged with its evidence; one a
// later layer removes is not; a broken one is a warning.
func TestGenerateDotnet(t *testing.T) {
	img := image(t,
		layer(t,
			file("app/TestLibrary.deps.json", testdata(t, "dotnet/TestLibrary.deps.json")),
			file("old/Old.deps.json", []byte(`{"targets":{"t":{"Old/1.0.0":{"runtime":{"Old.dll":{}}}}},"libraries":{"Old/1.0.0":{"type":"project"}}}`)),
			file("bad/Bad.deps.json", []byte(`{"targets":{"t":`)),
		),
		layer(t, whiteout("old/.wh.Old.deps.json")),
	)
	doc, err := Generate(t.Context(), img)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range doc.Packages() {
		if p.Path != "/app/TestLibrary.deps.json" || p.Type != "nuget" {
			t.Errorf("package %+v", p)
		}
		n++
	}
	if n != 11 {
		t.Errorf("%d packages, want 11", n)
	}
	if w := doc.Warnings(); len(w) != 1 || !strings.Contains(w[0], "/bad/Bad.deps.json") || !strings.Contains(w[0], "dotnet") {
		t.Errorf("warnings %q, want one about the broken deps.json", w)
	}
	b, err := doc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "cataloged from the deps.json of a .NET application") {
		t.Error("the document does not say where the .NET packages came from")
	}
}
