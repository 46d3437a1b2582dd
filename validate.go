package hallmark

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Limits of one build request: they bound what a request can make the
// gateway hold. The gateway enforces them, and the CLI checks them before
// it uploads anything, with the same Validate functions.
const (
	MaxTags               = 32
	MaxBuildArgs          = 200
	MaxBuildArgNameBytes  = 256
	MaxBuildArgValueBytes = 32 << 10
	MaxPlatforms          = 8
	MaxSecrets            = 32
	MaxSecretBytes        = 512 << 10
	MaxLabels             = 100
	MaxLabelKeyBytes      = 256
	MaxLabelValueBytes    = 4 << 10
)

var (
	buildArgNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })
	platformRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$`) })
	targetRE       = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,127}$`) })
	secretIDRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`) })
)

// invalid is an error wrapping ErrInvalid about the request field field.
func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// ValidateTags checks a build's tags and returns their one repository:
// 1 to MaxTags references, none naming a digest, each accepted by
// repository, which parses one tag reference and returns its repository
// ("registry/repository"); all must name the same one. Callers pass a
// strict reference parser (go-containerregistry's name.NewTag with
// name.StrictValidation in the gateway and the CLI), which this package,
// importing the standard library only, cannot. Errors wrap ErrInvalid.
func ValidateTags(tags []string, repository func(tag string) (string, error)) (string, error) {
	if len(tags) == 0 {
		return "", invalid("tags", "at least one tag is required, e.g. registry.example.com/team/app:v1")
	}
	if len(tags) > MaxTags {
		return "", invalid("tags", "%d entries, the limit is %d", len(tags), MaxTags)
	}
	var repo string
	for i, t := range tags {
		if strings.Contains(t, "@") {
			return "", invalid(fmt.Sprintf("tags[%d]", i), "%q names a digest; tags name the references to move", Clip(t, 100))
		}
		r, err := repository(t)
		if err != nil {
			return "", invalid(fmt.Sprintf("tags[%d]", i), "%q is not registry/repository:tag: %v", Clip(t, 100), err)
		}
		if repo != "" && r != repo {
			return "", invalid(fmt.Sprintf("tags[%d]", i), "repository %q differs from %q; all tags of a build must name one repository", r, repo)
		}
		repo = r
	}
	return repo, nil
}

// ControlBuildArgPrefix starts the names of the build args that BuildKit's
// Dockerfile frontend reads as its own settings rather than as ARGs:
// BUILDKIT_SYNTAX (another frontend image), BUILDKIT_CACHE_MOUNT_NS (the
// cache-mount namespace), BUILDKIT_CONTEXT_KEEP_GIT_DIR,
// BUILDKIT_MULTI_PLATFORM, BUILDKIT_SBOM_SCAN_*, … BuildKit matches them
// case-sensitively, and so does ValidateBuildArg.
const ControlBuildArgPrefix = "BUILDKIT_"

// ValidateBuildArg checks one build argument: its name is a Dockerfile ARG
// name (letters, digits and _, not starting with a digit) of at most
// MaxBuildArgNameBytes that does not start with ControlBuildArgPrefix (the
// gateway alone sets BuildKit's control args), its value at most
// MaxBuildArgValueBytes. Errors wrap ErrInvalid.
func ValidateBuildArg(name, value string) error {
	if !buildArgNameRE().MatchString(name) || len(name) > MaxBuildArgNameBytes {
		return invalid("build_args", "name %q is not a valid ARG name (letters, digits, _; not starting with a digit)", Clip(name, 100))
	}
	if strings.HasPrefix(name, ControlBuildArgPrefix) {
		return invalid("build_args", "%s is a BuildKit control argument: build args named %s* configure BuildKit itself "+
			"(frontend image, cache-mount namespace, …) and only the gateway sets them; rename it", Clip(name, 100), ControlBuildArgPrefix)
	}
	if len(value) > MaxBuildArgValueBytes {
		return invalid("build_args", "value of %s is over %d bytes", name, MaxBuildArgValueBytes)
	}
	return nil
}

// ValidateBuildArgs checks a build's arguments: at most MaxBuildArgs, each
// as ValidateBuildArg says (the first bad one by name is reported). Errors
// wrap ErrInvalid.
func ValidateBuildArgs(args map[string]string) error {
	if len(args) > MaxBuildArgs {
		return invalid("build_args", "%d entries, the limit is %d", len(args), MaxBuildArgs)
	}
	for _, k := range slices.Sorted(maps.Keys(args)) {
		if err := ValidateBuildArg(k, args[k]); err != nil {
			return err
		}
	}
	return nil
}

// ValidatePlatforms checks a build's target platforms: at most
// MaxPlatforms, each os/arch[/variant] in lower case, such as linux/amd64
// or linux/arm/v7. Errors wrap ErrInvalid.
func ValidatePlatforms(platforms []string) error {
	if len(platforms) > MaxPlatforms {
		return invalid("platforms", "%d entries, the limit is %d", len(platforms), MaxPlatforms)
	}
	for _, p := range platforms {
		if !platformRE().MatchString(p) {
			return invalid("platforms", "%q is not os/arch[/variant], e.g. linux/amd64", Clip(p, 100))
		}
	}
	return nil
}

// ValidatePlatform checks a platform selector for verification: empty
// (every platform of an index) or os/arch[/variant] in lower case, as
// ValidatePlatforms. Errors wrap ErrInvalid.
func ValidatePlatform(platform string) error {
	if platform != "" && !platformRE().MatchString(platform) {
		return invalid("platform", "%q is not os/arch[/variant], e.g. linux/arm64", Clip(platform, 100))
	}
	return nil
}

// ValidateTarget checks the name of the stage to build; "" (the last
// stage) is valid. Errors wrap ErrInvalid.
func ValidateTarget(target string) error {
	if target != "" && !targetRE().MatchString(target) {
		return invalid("target", "%q is not a stage name", Clip(target, 100))
	}
	return nil
}

// ValidateSecrets checks a build's secrets: at most MaxSecrets, each id
// 1-128 letters, digits, '.', '_' or '-' and given once, each value at most
// MaxSecretBytes. Errors wrap ErrInvalid, or ErrTooLarge for a value; they
// name secrets by id, never show a value.
func ValidateSecrets(secrets []Secret) error {
	if len(secrets) > MaxSecrets {
		return invalid("secrets", "%d entries, the limit is %d", len(secrets), MaxSecrets)
	}
	seen := map[string]bool{}
	for i, s := range secrets {
		if !secretIDRE().MatchString(s.ID) {
			return invalid(fmt.Sprintf("secrets[%d].id", i), "%q is not a secret id (letters, digits, . _ -)", Clip(s.ID, 100))
		}
		if seen[s.ID] {
			return invalid(fmt.Sprintf("secrets[%d].id", i), "%q is given twice", s.ID)
		}
		seen[s.ID] = true
		if len(s.Value) > MaxSecretBytes {
			return fmt.Errorf("%w: secrets[%d] (%s): value over %d bytes", ErrTooLarge, i, s.ID, MaxSecretBytes)
		}
	}
	return nil
}

// ValidateLabels checks the labels to set on the image: at most MaxLabels,
// keys of 1 to MaxLabelKeyBytes, values of at most MaxLabelValueBytes (the
// first bad one by key is reported). Errors wrap ErrInvalid.
func ValidateLabels(labels map[string]string) error {
	if len(labels) > MaxLabels {
		return invalid("labels", "%d entries, the limit is %d", len(labels), MaxLabels)
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if k == "" || len(k) > MaxLabelKeyBytes || len(labels[k]) > MaxLabelValueBytes {
			return invalid("labels", "key %q: keys must be 1-%d bytes, values at most %d", Clip(k, 100), MaxLabelKeyBytes, MaxLabelValueBytes)
		}
	}
	return nil
}
