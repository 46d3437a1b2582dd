// Command scalibr-scan runs Google's osv-scalibr library on one container
// image and matches its packages against a local OSV database with
// scalibr's own offline matcher (the vulnmatch/osvlocal enricher, never
// the network). It prints one JSON document: the packages scalibr found
// and its findings, {id, ecosystem, name, version, purl}. Hallmark's
// vulnerability comparison (internal/vulncompare, make vuln-compare) runs
// it; tools/osv-scalibr/compare.sh builds it.
//
// Usage:
//
//	scalibr-scan -image PATH -osv DIR [-plugins os,go]
//
// PATH is an OCI image layout directory or a docker save tarball. DIR
// holds osv-scalibr/<ecosystem>/all.zip (the layout of osv.dev's export
// bucket under osvlocal's cache directory).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	scalibr "github.com/google/osv-scalibr"
	"github.com/google/osv-scalibr/artifact/image/layerscanning/image"
	cpb "github.com/google/osv-scalibr/binary/proto/config_go_proto"
	"github.com/google/osv-scalibr/enricher/vulnmatch/osvlocal"
	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/plugin"
	"github.com/google/osv-scalibr/plugin/config"
	pl "github.com/google/osv-scalibr/plugin/list"
	"github.com/google/osv-scalibr/version"
)

type pkg struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	PURL      string `json:"purl,omitempty"`
}

type finding struct {
	ID string `json:"id"`
	pkg
}

type output struct {
	Scanner  string    `json:"scanner"`
	Status   string    `json:"status"`
	Packages []pkg     `json:"packages"`
	Findings []finding `json:"findings"`
	Seconds  float64   `json:"seconds"`
}

func main() {
	imagePath := flag.String("image", "", "OCI image layout directory or docker save tarball")
	osvDir := flag.String("osv", "", "directory holding osv-scalibr/<ecosystem>/all.zip")
	plugins := flag.String("plugins", "os,go", "comma-separated scalibr plugin names or groups")
	flag.Parse()
	if *imagePath == "" || *osvDir == "" {
		flag.Usage()
		os.Exit(2)
	}
	out, err := run(context.Background(), *imagePath, *osvDir, strings.Split(*plugins, ","))
	if err != nil {
		fmt.Fprintln(os.Stderr, "scalibr-scan:", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "scalibr-scan:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, imagePath, osvDir string, names []string) (*output, error) {
	start := time.Now()
	protoCfg := &cpb.PluginConfig{PluginSpecific: []*cpb.PluginSpecificConfig{{
		Config: &cpb.PluginSpecificConfig_Osvlocal{Osvlocal: &cpb.OSVLocalConfig{LocalPath: osvDir, Download: false}},
	}}}
	cfg := &config.PluginConfig{ProtoConfig: protoCfg, ClientFactories: config.NewDefaultClientFactories("")}
	plugins, err := pl.FromNames(append(names, osvlocal.Name), cfg)
	if err != nil {
		return nil, err
	}
	img, err := loadImage(imagePath)
	if err != nil {
		return nil, err
	}
	defer img.CleanUp()
	// A container image of Linux, scanned offline: the groups' plugins for
	// other systems (os/winget, os/chocolatey) and online ones are dropped.
	capabs := &plugin.Capabilities{OS: plugin.OSLinux, Network: plugin.NetworkOffline}
	res, err := scalibr.New().ScanContainer(ctx, img, &scalibr.ScanConfig{
		Plugins:      plugin.FilterByCapabilities(plugins, capabs),
		Capabilities: capabs,
	})
	if err != nil {
		return nil, err
	}
	if res.Status.Status != plugin.ScanStatusSucceeded {
		return nil, fmt.Errorf("scan: %s", res.Status.String())
	}
	out := &output{Scanner: "osv-scalibr " + version.ScannerVersion, Status: res.Status.String(), Packages: []pkg{}, Findings: []finding{}}
	for _, s := range res.PluginStatus {
		if s.Status.Status != plugin.ScanStatusSucceeded {
			return nil, fmt.Errorf("plugin %s: %s", s.Name, s.Status.String())
		}
	}
	for _, p := range res.Inventory.Packages {
		out.Packages = append(out.Packages, describe(p))
	}
	for _, v := range res.Inventory.PackageVulns {
		out.Findings = append(out.Findings, finding{ID: v.Vulnerability.GetId(), pkg: describe(v.Package)})
	}
	slices.SortFunc(out.Packages, func(a, b pkg) int { return strings.Compare(a.PURL+a.Name, b.PURL+b.Name) })
	slices.SortFunc(out.Findings, func(a, b finding) int { return strings.Compare(a.ID+a.PURL, b.ID+b.PURL) })
	out.Seconds = time.Since(start).Seconds()
	return out, nil
}

func describe(p *extractor.Package) pkg {
	d := pkg{Ecosystem: p.Ecosystem().String(), Name: p.Name, Version: p.Version}
	if u := p.PURL(); u != nil {
		d.PURL = u.String()
	}
	return d
}

// loadImage reads an OCI image layout (its first manifest) or a docker
// save tarball.
func loadImage(path string) (*image.Image, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return image.FromTarball(path, image.DefaultConfig())
	}
	p, err := layout.FromPath(filepath.Clean(path))
	if err != nil {
		return nil, err
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) == 0 {
		return nil, fmt.Errorf("%s: no manifests", path)
	}
	v1img, err := p.Image(m.Manifests[0].Digest)
	if err != nil {
		return nil, err
	}
	return image.FromV1Image(v1img, image.DefaultConfig())
}
