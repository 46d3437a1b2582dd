package hallmark

import "unicode/utf8"

// Clip shortens s, a string that came from outside (a caller, a registry, a
// document) and is quoted in an error or a warning, to at most n bytes cut
// at a character boundary, ending in "…" when it was shortened.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := max(n, 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
