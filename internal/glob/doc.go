// Package glob is the one pattern dialect of Hallmark's configuration:
// authorization rules (subjects, claims, repositories), the base-image
// allowlist and the secret scan's allowed paths all use it.
//
// A pattern and a name are split at "/" and matched segment by segment with
// the syntax of path.Match: "*" matches any run of characters except "/",
// "?" one character except "/", "[...]" a character class and "\" escapes.
// A segment that is exactly "**" crosses "/", as in .gitignore: at the end
// of a pattern it matches one or more segments (everything below the
// prefix, not the prefix itself); anywhere else it matches zero or more.
// "**" inside a longer segment is an error.
//
//	registry.example.com/acme/*   matches registry.example.com/acme/app, not …/acme/app/sub
//	registry.example.com/acme/**  matches …/acme/app and …/acme/app/sub, not …/acme itself
//	/app/**/fixtures/*            matches /app/fixtures/k.pem and /app/a/b/fixtures/k.pem
package glob
