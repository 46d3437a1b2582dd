package admission

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of what the webhook sends back.
const (
	// maxViolation bounds one violation (an image's denial, a container's
	// rule failure) in bytes.
	maxViolation = 1024
	// maxMessage bounds a denial's status message in bytes.
	maxMessage = 4096
	// maxWarning bounds one warning in bytes; Kubernetes truncates longer
	// ones.
	maxWarning = 256
	// maxWarnings bounds the number of warnings of one response.
	maxWarnings = 16
	// warningPrefix marks the webhook's warnings among others.
	warningPrefix = "hallmark: "
)

// clip shortens s to at most n bytes (ending in "…" when shortened) on a
// UTF-8 boundary, and replaces control characters by spaces.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := max(n-len(ellipsis), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// clipMiddle shortens s like clip, but keeps its end too: a wrapped
// error's end names the innermost cause and, for a limit, the setting to
// raise. It keeps about a third of n from the start and the rest from the
// end, joined by "…".
func clipMiddle(s string, n int) string {
	s = clip(s, len(s)) // control characters and invalid UTF-8 only
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	head := clip(s, n/3)
	head = strings.TrimSuffix(head, ellipsis)
	start := len(s) - (n - len(head) - len(ellipsis))
	for start < len(s) && !utf8.RuneStart(s[start]) {
		start++
	}
	return head + ellipsis + s[start:]
}

// message joins violations into one bounded status message.
func message(violations []string) string {
	const reserve = 32 // room for "; and N more"
	var b strings.Builder
	for i, v := range violations {
		if i > 0 {
			if b.Len()+2+len(v) > maxMessage-reserve {
				fmt.Fprintf(&b, "; and %d more", len(violations)-i)
				break
			}
			b.WriteString("; ")
		}
		b.WriteString(v)
	}
	return clip(b.String(), maxMessage)
}

// warnings turns violations into a bounded list of warnings.
func warnings(violations []string) []string {
	var ws []string
	for i, v := range violations {
		if i == maxWarnings-1 && len(violations) > maxWarnings {
			ws = append(ws, fmt.Sprintf("%sand %d more violations", warningPrefix, len(violations)-i))
			break
		}
		ws = append(ws, clip(warningPrefix+v, maxWarning))
	}
	return ws
}

// shortDigest abbreviates "sha256:<hex>" to its first 12 hex digits.
func shortDigest(d string) string {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return algo + ":" + hex[:12] + "…"
}
