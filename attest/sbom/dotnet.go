package sbom

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/package-url/packageurl-go"
)

// maxDepsJSONBytes bounds one deps.json. An application's is a few KiB to
// a few hundred (a self-contained app lists every runtime assembly).
const maxDepsJSONBytes = 16 << 20

// dotnetCataloger reads the NAME.deps.json that `dotnet build` and
// `dotnet publish` write next to a .NET application: the libraries its
// host loads, with their versions. It chooses packages as syft's image
// cataloger (dotnet-deps-binary-cataloger, default settings) does for a
// deps.json:
//
//   - every NAME/VERSION entry of targets (all target frameworks);
//   - the application itself: the "project" library named like the file;
//   - not the other "project" libraries (the solution's own projects);
//   - not reference assemblies without a hash or path (the shared
//     framework's compile-time references);
//   - only libraries that claim an assembly (runtime, resources, compile
//     or native) themselves or through a dependency, unless the app uses
//     an IL bundler (ILRepack, ILMerge, Costura.Fody, …), which hides them.
var dotnetCataloger = &appCataloger{
	name:       "dotnet",
	purlType:   packageurl.TypeNuget,
	sourceInfo: "cataloged from the deps.json of a .NET application",
	match:      func(p string) bool { return strings.HasSuffix(path.Base(p), ".deps.json") },
	maxBytes:   maxDepsJSONBytes,
	parse: func(r io.Reader, size int64) ([]Package, error) {
		return parseDepsJSON("", r, size)
	},
	parseNamed: parseDepsJSON,
}

// depsJSON is the part of a deps.json the cataloger reads.
type depsJSON struct {
	// Targets maps a target framework (".NETCoreApp,Version=v8.0",
	// ".NETCoreApp,Version=v8.0/linux-x64") to its libraries by
	// "NAME/VERSION".
	Targets   map[string]map[string]depsTarget `json:"targets"`
	Libraries map[string]depsLibrary           `json:"libraries"`
}

type depsTarget struct {
	Dependencies map[string]string          `json:"dependencies"`
	Runtime      map[string]json.RawMessage `json:"runtime"`
	Resources    map[string]json.RawMessage `json:"resources"`
	Compile      map[string]json.RawMessage `json:"compile"`
	Native       map[string]json.RawMessage `json:"native"`
}

type depsLibrary struct {
	Type   string `json:"type"`
	Path   string `json:"path"`
	Sha512 string `json:"sha512"`
}

// ilBundlers are NuGet packages that merge or embed other assemblies into
// the application's: when one is used, a library need not claim an
// assembly of its own (syft's list).
var ilBundlers = map[string]bool{
	"ILRepack.Lib.MSBuild.Task": true, "ILRepack.Lib": true, "ILRepack.Lib.MSBuild": true,
	"ILRepack.Lib.NET": true, "ILRepack.NETStandard": true, "ILRepack.FullAuto": true,
	"ILMerge": true, "JetBrains.Build.ILRepack": true, "PostSharp.Community.Packer": true,
	"Brokenevent.ILStrip": true, "Brokenevent.ILStrip.CLI": true, "Costura.Fody": true, "Fody": true,
}

// parseDepsJSON reads the deps.json at p (its name names the application;
// "" when unknown).
func parseDepsJSON(p string, r io.Reader, _ int64) ([]Package, error) {
	var d depsJSON
	if err := json.NewDecoder(r).Decode(&d); err != nil {
		return nil, fmt.Errorf("parse deps.json: %w", err)
	}
	// The union of the target frameworks: whether a library claims an
	// assembly itself, and what it depends on.
	type library struct {
		claims bool
		deps   []string
	}
	libs := map[string]*library{}
	bundled := false
	for _, targets := range d.Targets {
		for key, t := range targets {
			l := libs[key]
			if l == nil {
				l = &library{}
				libs[key] = l
				name, _, _ := strings.Cut(key, "/")
				bundled = bundled || ilBundlers[name]
			}
			l.claims = l.claims || len(t.Runtime)+len(t.Resources)+len(t.Compile)+len(t.Native) > 0
			for n, v := range t.Dependencies {
				l.deps = append(l.deps, n+"/"+v)
			}
		}
	}
	// A library claims an assembly through a dependency if a claiming
	// library is reachable from it: walk the reverse edges once from every
	// library that claims one (linear, whatever the cycles).
	parents := map[string][]string{}
	var queue []string
	for key, l := range libs {
		for _, dep := range l.deps {
			parents[dep] = append(parents[dep], key)
		}
		if l.claims {
			queue = append(queue, key)
		}
	}
	for len(queue) > 0 {
		key := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, parent := range parents[key] {
			if l := libs[parent]; !l.claims {
				l.claims = true
				queue = append(queue, parent)
			}
		}
	}

	keys := slices.Sorted(maps.Keys(libs))
	app := ""
	if base := path.Base(p); strings.HasSuffix(base, ".deps.json") && len(base) > len(".deps.json") {
		name := strings.TrimSuffix(base, ".deps.json")
		for _, key := range keys {
			if n, _ := splitNameVersion(key); n == name && d.Libraries[key].Type == "project" {
				app = key
				break
			}
		}
	}
	var out []Package
	for _, key := range keys {
		lib, ok := d.Libraries[key]
		if key != app {
			switch {
			case ok && lib.Type == "referenceassembly" && lib.Sha512 == "" && lib.Path == "":
				continue // a compile-time reference to the shared framework
			case ok && lib.Type == "project":
				continue // another project of the solution, built into the app
			case !libs[key].claims && !bundled:
				continue // no assembly of its own or of a dependency: nothing loaded
			}
		}
		name, version := splitNameVersion(key)
		if name == "" {
			continue
		}
		out = append(out, Package{
			Type:    packageurl.TypeNuget,
			Name:    name,
			Version: version,
			PURL:    packageurl.NewPackageURL(packageurl.TypeNuget, "", name, version, nil, "").ToString(),
		})
	}
	return out, nil
}

// splitNameVersion splits a deps.json "NAME/VERSION" key.
func splitNameVersion(key string) (name, version string) {
	name, rest, _ := strings.Cut(key, "/")
	version, _, _ = strings.Cut(rest, "/")
	return name, version
}
