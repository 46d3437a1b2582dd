package version

import (
	"errors"
	"strings"

	apk "github.com/knqyf263/go-apk-version"
	deb "github.com/knqyf263/go-deb-version"
	rpm "github.com/knqyf263/go-rpm-version"
)

// maxDigits bounds a run of digits in a dpkg version: go-deb-version
// compares digit runs as machine integers, and longer runs would saturate
// and compare equal when they are not.
const maxDigits = 18

// dpkgOrdering is Debian's (deb-version(7)): epoch, upstream version with
// "~" sorting before everything, Debian revision.
var dpkgOrdering = &ordering[deb.Version]{
	name: "dpkg",
	parse: func(s string) (deb.Version, error) {
		if err := plain(s); err != nil {
			return deb.Version{}, err
		}
		if longDigitRun(s) {
			return deb.Version{}, errors.New("a number has more than 18 digits")
		}
		return deb.NewVersion(s)
	},
	cmp: func(a, b deb.Version) int { return a.Compare(b) },
}

// apkOrdering is apk-tools' (Alpine, Wolfi): letters, _alpha/_beta/_pre/_rc
// before and _cvs/_svn/_git/_hg/_p after a release, -rN revisions.
var apkOrdering = &ordering[apk.Version]{
	name: "apk",
	parse: func(s string) (apk.Version, error) {
		if err := plain(s); err != nil {
			return "", err
		}
		return apk.NewVersion(s)
	},
	cmp: func(a, b apk.Version) int { return a.Compare(b) },
}

// rpmOrdering is rpmvercmp with epochs: [epoch:]version[-release].
var rpmOrdering = &ordering[rpm.Version]{
	name: "rpm",
	parse: func(s string) (rpm.Version, error) {
		if err := plain(s); err != nil {
			return rpm.Version{}, err
		}
		if epoch, rest, ok := strings.Cut(s, ":"); ok {
			if epoch == "" || len(epoch) > 9 || strings.Trim(epoch, "0123456789") != "" {
				return rpm.Version{}, errors.New("the epoch is not a number")
			}
			if rest == "" || strings.Contains(rest, ":") {
				return rpm.Version{}, errors.New("no version after the epoch, or more than one epoch")
			}
		}
		return rpm.NewVersion(s), nil
	},
	cmp: func(a, b rpm.Version) int { return a.Compare(b) },
}

// plain refuses whitespace and control characters, which no ecosystem
// writes in a version and some libraries would trim or split on.
func plain(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return errors.New("whitespace or a control character")
		}
	}
	return nil
}

// longDigitRun reports whether s has more than maxDigits digits in a row.
func longDigitRun(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			if run > maxDigits {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}
