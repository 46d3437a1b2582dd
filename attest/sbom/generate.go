package sbom

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/package-url/packageurl-go"

	"github.com/hallmark-dev/hallmark"
)

// Generate catalogs the final filesystem of img (its layers in order, with
// OCI whiteouts applied) and describes it as an SPDX 2.3 document: the image
// as the root package, and every dpkg, apk, rpm, pacman and Portage
// package, every application package (app.go) and every Go module (with
// the Go standard library) of every Go executable, each with a purl and the
// layer and file that evidenced it.
//
// Layers are read from the top down and each file is decided the first time
// its path is seen, so only the package databases and executables that are
// visible in the final filesystem are read. Symbolic links are never
// followed and nothing is written to disk except a temporary copy of an RPM
// database. A damaged database yields the packages read before the damage
// and a warning in the document; a failing layer, a limit exceeded or a
// canceled ctx yields an error.
func Generate(ctx context.Context, img v1.Image, opts ...Option) (*Document, error) {
	o := defaults()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	h, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("read image digest: %w", err)
	}
	digest, err := hallmark.ParseDigest(h.String())
	if err != nil {
		return nil, fmt.Errorf("read image digest: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("read image layers: %w", err)
	}
	diffIDs := make([]hallmark.Digest, len(layers))
	for i, l := range layers {
		d, err := l.DiffID()
		if err != nil {
			return nil, fmt.Errorf("read diffID of layer %d: %w", i, err)
		}
		diffIDs[i] = hallmark.Digest(d.String())
	}
	created := o.created
	if created.IsZero() && cfg != nil {
		created = cfg.Created.Time
	}
	if created.IsZero() {
		created = time.Now()
	}

	from := 0
	var warnings []string
	if o.base != nil {
		if reason := o.base.reusableFor(diffIDs, o.baseLayers); reason != "" {
			warnings = append(warnings, "base SBOM "+o.base.digest.String()+" not reused: "+reason)
			o.logger.Warn("sbom: base SBOM not reused", "base", o.base.digest, "reason", reason)
		} else {
			from = o.baseLayers
		}
	}
	o.logger.Debug("sbom: cataloging", "image", digest, "layers", len(layers), "from", from)
	cat, err := walk(ctx, &o, layers, from)
	if err != nil {
		return nil, fmt.Errorf("catalog image %s: %w", digest, err)
	}
	rel := cat.release()
	if rel == nil && from > 0 {
		rel = o.base.distro
	}
	pkgs := cat.packages(rel)
	fromBase := 0
	if from > 0 {
		for _, p := range o.base.packages {
			if cat.shadow.hides(evidenceFile(p.Path), false) {
				continue // deleted or replaced by a layer of this build; recataloged if replaced
			}
			p.FromBase = o.base.digest
			pkgs = append(pkgs, p)
			fromBase++
		}
	}
	doc := &Document{
		digest:   digest,
		layers:   diffIDs,
		distro:   rel,
		packages: dedupe(pkgs),
		warnings: append(warnings, cat.warnings...),
	}
	meta := docMeta{
		imageName:   o.imageName,
		created:     created.UTC(),
		toolVersion: o.toolVersion,
		baseLayers:  from,
	}
	if err := doc.build(meta, o.maxDocBytes); err != nil {
		return nil, err
	}
	o.logger.Debug("sbom: done", "image", digest, "packages", len(doc.packages), "from_base", fromBase)
	return doc, nil
}

// release is the image's os-release: /etc/os-release, or
// /usr/lib/os-release when the former is a link or missing.
func (c *catalog) release() *osRelease {
	if c.osRelease != nil && c.osRelease.ID != "" {
		return c.osRelease
	}
	if c.osReleaseUsr != nil && c.osReleaseUsr.ID != "" {
		return c.osReleaseUsr
	}
	return nil
}

// packages turns the catalog into packages with purls.
func (c *catalog) packages(rel *osRelease) []Package {
	var out []Package
	for _, f := range c.dpkg {
		for _, p := range f.pkgs {
			out = append(out, Package{Type: packageurl.TypeDebian, Name: p.Name, Version: p.Version, PURL: p.purl(rel), Layer: f.ev.layer, Path: f.ev.path})
		}
	}
	for _, f := range c.apk {
		for _, p := range f.pkgs {
			out = append(out, Package{Type: packageurl.TypeApk, Name: p.Name, Version: p.Version, PURL: p.purl(rel), License: p.License, Layer: f.ev.layer, Path: f.ev.path})
		}
	}
	for _, f := range c.rpm {
		for _, p := range f.pkgs {
			v := p.fullVersion()
			if p.Epoch != nil {
				v = fmt.Sprintf("%d:%s", *p.Epoch, v)
			}
			out = append(out, Package{Type: packageurl.TypeRPM, Name: p.Name, Version: v, PURL: p.purl(rel), License: p.License, Layer: f.ev.layer, Path: f.ev.path})
		}
	}
	for _, f := range c.alpm {
		for _, p := range f.pkgs {
			out = append(out, Package{Type: packageurl.TypeAlpm, Name: p.Name, Version: p.Version, PURL: p.purl(rel), License: p.license(), Layer: f.ev.layer, Path: f.ev.path})
		}
	}
	for _, f := range c.portage {
		for _, p := range f.pkgs {
			out = append(out, Package{Type: typeEbuild, Name: p.Name, Version: p.Version, PURL: p.purl(), License: c.portageLic[path.Dir(f.ev.path)], Layer: f.ev.layer, Path: f.ev.path})
		}
	}
	for _, b := range c.golang {
		out = append(out, goPackages(b)...)
	}
	return append(out, appPackages(c.app)...)
}

// goPackages lists the main module (Main), every dependency
// (replacements applied) and the standard library of a Go executable.
func goPackages(b goBinary) []Package {
	var out []Package
	add := func(path, version string, main bool) {
		ns, name := "", path
		if i := strings.LastIndexByte(path, '/'); i >= 0 {
			ns, name = path[:i], path[i+1:]
		}
		purlVersion := version
		if version == "(devel)" {
			purlVersion = "" // no released version: a purl without one, as syft writes it
		}
		out = append(out, Package{
			Type:    packageurl.TypeGolang,
			Name:    path,
			Version: version,
			PURL:    packageurl.NewPackageURL(packageurl.TypeGolang, ns, name, purlVersion, nil, "").ToString(),
			Layer:   b.ev.layer,
			Path:    b.ev.path,
			Main:    main,
		})
	}
	bi := b.info
	if bi.Main.Path != "" && bi.Main.Path != "command-line-arguments" {
		add(bi.Main.Path, bi.Main.Version, true)
	}
	for _, d := range bi.Deps {
		switch {
		case d.Replace != nil && d.Replace.Version != "" && d.Replace.Version != "(devel)":
			add(d.Replace.Path, d.Replace.Version, false)
		case d.Replace != nil: // replaced by a local directory
			add(d.Path, "(devel)", false)
		default:
			add(d.Path, d.Version, false)
		}
	}
	if f := strings.Fields(bi.GoVersion); len(f) > 0 {
		add("stdlib", strings.TrimPrefix(f[0], "go"), false)
	}
	return out
}
