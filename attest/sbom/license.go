package sbom

import "strings"

// validLicenseExpression reports whether s has the syntax of an SPDX 2.3
// license expression (Annex D): identifiers (optionally "+"), LicenseRefs,
// WITH exceptions, AND, OR and parentheses. It does not check identifiers
// against the SPDX license list, so "GPLv2+" passes; what fails (e.g.
// "GPL v2", "MIT/BSD") is written as NOASSERTION with the text in the
// license comments.
func validLicenseExpression(s string) bool {
	toks := licenseTokens(s)
	if len(toks) == 0 || len(toks) > 256 {
		return false
	}
	p := licenseParser{toks: toks}
	return p.expr(0) && p.i == len(p.toks)
}

func licenseTokens(s string) []string {
	var toks []string
	for _, f := range strings.Fields(s) {
		for f != "" {
			i := strings.IndexAny(f, "()")
			switch {
			case i < 0:
				toks, f = append(toks, f), ""
			case i == 0:
				toks, f = append(toks, f[:1]), f[1:]
			default:
				toks, f = append(toks, f[:i]), f[i:]
			}
		}
	}
	return toks
}

type licenseParser struct {
	toks []string
	i    int
}

func (p *licenseParser) next() string {
	if p.i == len(p.toks) {
		return ""
	}
	return p.toks[p.i]
}

// expr = term *(("AND" / "OR") term)
func (p *licenseParser) expr(depth int) bool {
	if depth > 32 || !p.term(depth) {
		return false
	}
	for t := p.next(); t == "AND" || t == "OR"; t = p.next() {
		p.i++
		if !p.term(depth) {
			return false
		}
	}
	return true
}

// term = "(" expr ")" / simple ["WITH" idstring]
func (p *licenseParser) term(depth int) bool {
	if p.next() == "(" {
		p.i++
		if !p.expr(depth+1) || p.next() != ")" {
			return false
		}
		p.i++
		return true
	}
	if !simpleLicense(p.next()) {
		return false
	}
	p.i++
	if p.next() == "WITH" {
		p.i++
		if !idstring(p.next()) {
			return false
		}
		p.i++
	}
	return true
}

// simpleLicense = idstring ["+"] / ["DocumentRef-" idstring ":"] "LicenseRef-" idstring
func simpleLicense(t string) bool {
	switch t {
	case "", "AND", "OR", "WITH", "(", ")":
		return false
	}
	if doc, ref, ok := strings.Cut(t, ":"); ok {
		d, okDoc := strings.CutPrefix(doc, "DocumentRef-")
		r, okRef := strings.CutPrefix(ref, "LicenseRef-")
		return okDoc && okRef && idstring(d) && idstring(r)
	}
	return idstring(strings.TrimSuffix(t, "+"))
}

func idstring(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
