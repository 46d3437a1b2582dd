package verify

import (
	"fmt"
	"regexp"

	"github.com/hallmark-dev/hallmark"
)

// Identity is a signer a Verifier accepts: a Fulcio certificate's OIDC
// issuer (Issuer or IssuerRegexp) and subject alternative name
// (SubjectAlternativeName or SANRegexp). Each of the two needs an exact value,
// a regular expression, or both, in which case both must match. Regular
// expressions (Go RE2 syntax) must match the whole value: they are anchored,
// unlike cosign's --certificate-identity-regexp, so that
// "https://github.com/org/.*" cannot match a SAN that merely contains it.
type Identity struct {
	Issuer                 string
	SubjectAlternativeName string
	IssuerRegexp           string
	SANRegexp              string
}

// String describes the identity for messages.
func (id Identity) String() string {
	show := func(exact, re string) string {
		switch {
		case exact != "" && re != "":
			return exact + " (and ~" + re + ")"
		case re != "":
			return "~" + re
		}
		return exact
	}
	return show(id.SubjectAlternativeName, id.SANRegexp) + " from " + show(id.Issuer, id.IssuerRegexp)
}

// matcher is a compiled Identity.
type matcher struct {
	issuer, san     string
	issuerRE, sanRE *regexp.Regexp
}

func compileIdentity(id Identity) (matcher, error) {
	if id.Issuer == "" && id.IssuerRegexp == "" {
		return matcher{}, fmt.Errorf("%w: identity %s has no issuer or issuer regexp", hallmark.ErrInvalid, id)
	}
	if id.SubjectAlternativeName == "" && id.SANRegexp == "" {
		return matcher{}, fmt.Errorf("%w: identity %s has no subject alternative name or SAN regexp", hallmark.ErrInvalid, id)
	}
	m := matcher{issuer: id.Issuer, san: id.SubjectAlternativeName}
	var err error
	if m.issuerRE, err = anchored(id.IssuerRegexp); err != nil {
		return matcher{}, fmt.Errorf("%w: issuer regexp %q: %w", hallmark.ErrInvalid, id.IssuerRegexp, err)
	}
	if m.sanRE, err = anchored(id.SANRegexp); err != nil {
		return matcher{}, fmt.Errorf("%w: SAN regexp %q: %w", hallmark.ErrInvalid, id.SANRegexp, err)
	}
	return m, nil
}

func anchored(re string) (*regexp.Regexp, error) {
	if re == "" {
		return nil, nil
	}
	return regexp.Compile(`^(?:` + re + `)$`)
}

func (m matcher) match(issuer, san string) bool {
	return (m.issuer == "" || m.issuer == issuer) &&
		(m.issuerRE == nil || m.issuerRE.MatchString(issuer)) &&
		(m.san == "" || m.san == san) &&
		(m.sanRE == nil || m.sanRE.MatchString(san))
}
