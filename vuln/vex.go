package vuln

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	hallmark "github.com/hallmark-dev/hallmark"
)

// OpenVEXContext is the @context of the OpenVEX documents ParseOpenVEX
// reads.
const OpenVEXContext = "https://openvex.dev/ns/v0.2.0"

// Bounds of one OpenVEX document.
const (
	MaxVEXBytes      = 4 << 20
	maxVEXStatements = 10000
	maxVEXProducts   = 1000
	maxVEXString     = 1024
)

// justifications are OpenVEX's not_affected justifications.
var justifications = map[string]bool{
	"component_not_present":                             true,
	"vulnerable_code_not_present":                       true,
	"vulnerable_code_not_in_execute_path":               true,
	"vulnerable_code_cannot_be_controlled_by_adversary": true,
	"inline_mitigations_already_exist":                  true,
}

type vexDoc struct {
	Context    string         `json:"@context"`
	ID         string         `json:"@id"`
	Author     string         `json:"author"`
	Statements []vexStatement `json:"statements"`
}

type vexStatement struct {
	Vulnerability struct {
		Name    string   `json:"name"`
		Aliases []string `json:"aliases"`
	} `json:"vulnerability"`
	Products []struct {
		ID            string `json:"@id"`
		Subcomponents []struct {
			ID string `json:"@id"`
		} `json:"subcomponents"`
	} `json:"products"`
	Status          string `json:"status"`
	Justification   string `json:"justification"`
	ImpactStatement string `json:"impact_statement"`
}

// ParseOpenVEX reads an OpenVEX v0.2.0 document and returns an exception
// (By ByVEX, no expiry) for each not_affected statement's vulnerability and
// each package it names: the subcomponents of a product, or the product
// itself when it has none. A not_affected statement needs a justification.
// A statement about an image (a pkg:oci product) without subcomponents
// names no package and is skipped with a warning, as are statements of
// other statuses. source names the document in the exceptions. Anything
// malformed or past the bounds is an error wrapping hallmark.ErrInvalid or
// hallmark.ErrTooLarge. The signature of a signed VEX is not checked.
func ParseOpenVEX(source string, data []byte) ([]Exception, []string, error) {
	if len(data) > MaxVEXBytes {
		return nil, nil, fmt.Errorf("%w: OpenVEX document %s: %d bytes, limit %d", hallmark.ErrTooLarge, source, len(data), MaxVEXBytes)
	}
	var doc vexDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, nil, fmt.Errorf("%w: OpenVEX document %s: %s", hallmark.ErrInvalid, source, hallmark.Clip(err.Error(), 128))
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("%w: OpenVEX document %s: trailing data", hallmark.ErrInvalid, source)
	}
	if doc.Context != OpenVEXContext {
		return nil, nil, fmt.Errorf("%w: OpenVEX document %s: @context %q, want %q", hallmark.ErrInvalid, source, hallmark.Clip(doc.Context, 64), OpenVEXContext)
	}
	if len(doc.Statements) > maxVEXStatements {
		return nil, nil, fmt.Errorf("%w: OpenVEX document %s: %d statements, limit %d", hallmark.ErrTooLarge, source, len(doc.Statements), maxVEXStatements)
	}
	var (
		out      []Exception
		warnings []string
	)
	for i, st := range doc.Statements {
		at := fmt.Sprintf("OpenVEX document %s: statements[%d]", source, i)
		name := st.Vulnerability.Name
		if err := vexString(name); err != nil {
			return nil, nil, fmt.Errorf("%w: %s.vulnerability.name: %w", hallmark.ErrInvalid, at, err)
		}
		if len(st.Products) > maxVEXProducts {
			return nil, nil, fmt.Errorf("%w: %s: %d products, limit %d", hallmark.ErrTooLarge, at, len(st.Products), maxVEXProducts)
		}
		switch st.Status {
		case "not_affected":
		case "affected", "fixed", "under_investigation":
			continue
		default:
			return nil, nil, fmt.Errorf("%w: %s.status: %q is not not_affected, affected, fixed or under_investigation", hallmark.ErrInvalid, at, hallmark.Clip(st.Status, 32))
		}
		if !justifications[st.Justification] {
			return nil, nil, fmt.Errorf("%w: %s.justification: %q is not an OpenVEX justification (not_affected needs one)", hallmark.ErrInvalid, at, hallmark.Clip(st.Justification, 64))
		}
		reason := "VEX not_affected: " + st.Justification
		if st.ImpactStatement != "" {
			reason += ": " + hallmark.Clip(st.ImpactStatement, 256)
		}
		for j, p := range st.Products {
			var pkgs []string
			for k, sc := range p.Subcomponents {
				if err := vexPURL(sc.ID); err != nil {
					return nil, nil, fmt.Errorf("%w: %s.products[%d].subcomponents[%d].@id: %w", hallmark.ErrInvalid, at, j, k, err)
				}
				pkgs = append(pkgs, sc.ID)
			}
			if len(pkgs) > maxVEXProducts {
				return nil, nil, fmt.Errorf("%w: %s.products[%d]: more than %d subcomponents", hallmark.ErrTooLarge, at, j, maxVEXProducts)
			}
			if len(pkgs) == 0 {
				if err := vexPURL(p.ID); err != nil {
					return nil, nil, fmt.Errorf("%w: %s.products[%d].@id: %w", hallmark.ErrInvalid, at, j, err)
				}
				if strings.HasPrefix(p.ID, "pkg:oci/") {
					warnings = append(warnings, fmt.Sprintf("%s.products[%d]: an image without subcomponents names no package; skipped", at, j))
					continue
				}
				pkgs = append(pkgs, p.ID)
			}
			for _, pkg := range pkgs {
				out = append(out, Exception{Advisory: name, Package: pkg, Reason: reason, By: ByVEX, Source: source})
			}
		}
		if len(st.Products) == 0 {
			return nil, nil, fmt.Errorf("%w: %s.products: empty", hallmark.ErrInvalid, at)
		}
	}
	return out, warnings, nil
}

// vexString checks an identifier: non-empty, bounded, printable.
func vexString(s string) error {
	if s == "" {
		return fmt.Errorf("empty")
	}
	if len(s) > maxVEXString {
		return fmt.Errorf("over %d bytes", maxVEXString)
	}
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) >= 0 {
		return fmt.Errorf("%q has spaces or control characters", hallmark.Clip(s, 64))
	}
	return nil
}

// vexPURL checks a product or subcomponent id: a package URL.
func vexPURL(s string) error {
	if err := vexString(s); err != nil {
		return err
	}
	if _, err := PackageFromPURL(s); err != nil || !strings.HasPrefix(s, "pkg:") {
		return fmt.Errorf("%q is not a package URL", hallmark.Clip(s, 64))
	}
	return nil
}
