package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/server/convert"
	"github.com/hallmark-dev/hallmark/vuln"
)

// maxSBOMBytes bounds an SBOM hallmark vulns --offline reads.
const maxSBOMBytes = 512 << 20

// sbomPURLs reads the package URLs of an SPDX 2.x JSON document
// (packages[].externalRefs of type purl) or a CycloneDX JSON BOM
// (components[].purl, nested components too), in document order, each
// once.
func sbomPURLs(r io.Reader) ([]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSBOMBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read sbom: %w", err)
	}
	if len(data) > maxSBOMBytes {
		return nil, fmt.Errorf("read sbom: larger than %d MiB", maxSBOMBytes>>20)
	}
	var head struct {
		SPDXVersion string         `json:"spdxVersion"`
		BOMFormat   string         `json:"bomFormat"`
		Components  []cdxComponent `json:"components"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("read sbom: not JSON: %w", err)
	}
	var purls []string
	switch {
	case strings.HasPrefix(head.SPDXVersion, "SPDX-2."):
		doc, err := readSPDX(data)
		if err != nil {
			return nil, fmt.Errorf("read sbom: %w", err)
		}
		for _, p := range doc.Packages {
			for _, ref := range p.ExternalRefs {
				if ref.Type == "purl" {
					purls = append(purls, ref.Locator)
				}
			}
		}
	case head.BOMFormat == "CycloneDX":
		var walk func([]cdxComponent, int) error
		walk = func(cs []cdxComponent, depth int) error {
			if depth > 32 {
				return errors.New("read sbom: components nested deeper than 32")
			}
			for _, c := range cs {
				if c.PURL != "" {
					purls = append(purls, c.PURL)
				}
				if err := walk(c.Components, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		if err := walk(head.Components, 0); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("read sbom: neither an SPDX 2 JSON document nor a CycloneDX JSON BOM")
	}
	slices.Sort(purls)
	return slices.Compact(purls), nil
}

type cdxComponent struct {
	PURL       string         `json:"purl"`
	Components []cdxComponent `json:"components"`
}

// runVulnsOffline scans the SBOM of --sbom against the local advisory
// database and answers as the gateway would.
func runVulnsOffline(ctx context.Context, f *vulnsFlags, env verifyEnv, stdin io.Reader) (*hallmarkv1.ListFindingsResponse, error) {
	in := stdin
	if f.sbom != "-" {
		file, err := os.Open(f.sbom)
		if err != nil {
			return nil, fmt.Errorf("read sbom: %w", err)
		}
		defer file.Close()
		in = file
	}
	purls, err := sbomPURLs(in)
	if err != nil {
		return nil, err
	}
	dir, err := f.local.dir(env)
	if err != nil {
		return nil, err
	}
	db, _, _, err := loadLocal(ctx, dir)
	if err != nil {
		return nil, err
	}
	pkgs := make([]vuln.Package, 0, len(purls))
	for _, u := range purls {
		if p, err := vuln.PackageFromPURL(u); err == nil {
			pkgs = append(pkgs, p)
		}
	}
	now := time.Now()
	rep := db.Scan(pkgs)
	resp := &hallmarkv1.ListFindingsResponse{Advisories: int64(db.Len()), DatabaseUpdated: convert.Timestamp(new(db.NewestModified())), ScannedAt: timestamppb.New(now)}
	for _, fd := range rep.Findings {
		if f.advisory != "" && !strings.EqualFold(fd.ID, f.advisory) && !slices.ContainsFunc(fd.Aliases, func(a string) bool { return strings.EqualFold(a, f.advisory) }) {
			continue
		}
		resp.Findings = append(resp.Findings, &hallmarkv1.Finding{
			Advisory: fd.ID, Aliases: fd.Aliases, Summary: fd.Summary, Package: fd.Package, Installed: fd.Installed, Fixed: fd.Fixed,
			Severity: string(fd.Severity.Level), Score: fd.Severity.Score, Vector: fd.Severity.Vector, SeveritySource: fd.Severity.Source,
			FirstSeen: timestamppb.New(now),
		})
	}
	if n := len(rep.Unchecked); n > 0 {
		fmt.Fprintf(env.stderr, "hallmark vulns: %d packages or advisories could not be checked (no advisories for their ecosystem, unparsable versions); --output json of hallmark sbom lists the packages\n", n)
	}
	return resp, nil
}
