package secretscan

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
)

// CheckBuildArgs refuses build args that look like credentials: a
// non-empty value under a credential-like name (API_TOKEN, DB_PASSWORD), or
// a value shaped like a credential (an AWS access key id, a PEM private
// key, a JWT, a GitHub, GitLab, Slack or npm token) under any name. Build
// args end up in the image history, BuildKit's cache and the provenance;
// credentials belong in secret mounts. The error wraps hallmark.ErrInvalid,
// names every such arg and never includes a value.
func CheckBuildArgs(args map[string]string) error {
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(args)) {
		v := args[k]
		if v == "" {
			continue
		}
		if why, ok := credentialName(k); ok {
			problems = append(problems, fmt.Sprintf("build arg %q looks like a credential (its name %s)", hallmark.Clip(k, 80), why))
			continue
		}
		if r, ok := findValue(valueRules, []byte(v)); ok {
			problems = append(problems, fmt.Sprintf("the value of build arg %q looks like %s (rule %s)", hallmark.Clip(k, 80), r.what, r.id))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s; build args are recorded in the image history and provenance: pass credentials with --secret id=<id> and read them in a RUN --mount=type=secret,id=<id> step instead",
		hallmark.ErrInvalid, strings.Join(problems, "; "))
}
