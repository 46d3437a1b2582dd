package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode"

	"github.com/docker/go-units"

	"github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/registry"
)

// This file turns build's flags into a BuildRequest, checking them as the
// gateway will (hallmark.Validate*), so that a bad request fails before the
// context is uploaded.

// maxSecretBytes bounds one secret, as the gateway does.
const maxSecretBytes = hallmark.MaxSecretBytes

// checkTags checks the --tag values as the gateway will: the build fails
// here, before anything is uploaded.
func checkTags(tags []string) error {
	if len(tags) == 0 {
		return errors.New("parse --tag: at least one -t registry/repository:tag is required")
	}
	for _, t := range tags {
		if t == "" || strings.ContainsFunc(t, unicode.IsSpace) {
			return fmt.Errorf("parse --tag %q: want registry/repository:tag", t)
		}
	}
	if _, err := hallmark.ValidateTags(tags, registry.TagRepository); err != nil {
		return fmt.Errorf("parse --tag: %w", err)
	}
	return nil
}

// request checks the flags and turns them into a BuildRequest without a
// source, before any network call.
func (f *buildFlags) request(contextDir string, isGit bool, env buildEnv) (*hallmarkv1.BuildRequest, dockerfileSpec, error) {
	var df dockerfileSpec
	if err := checkTags(f.tags); err != nil {
		return nil, df, err
	}
	args, err := parseBuildArgs(f.buildArgs, env.lookupEnv)
	if err != nil {
		return nil, df, err
	}
	labels, err := parseLabels(f.labels)
	if err != nil {
		return nil, df, err
	}
	platforms, err := parsePlatforms(f.platforms)
	if err != nil {
		return nil, df, err
	}
	if err := hallmark.ValidateTarget(f.target); err != nil {
		return nil, df, fmt.Errorf("parse --target: %w", err)
	}
	secrets, err := parseSecrets(f.secrets, env.getenv)
	if err != nil {
		return nil, df, err
	}
	if isGit {
		df, err = gitDockerfile(f.file, env.stdin)
	} else {
		df, err = findDockerfile(f.file, contextDir, env.stdin)
	}
	if err != nil {
		return nil, df, err
	}
	return &hallmarkv1.BuildRequest{
		Dockerfile:       df.rel,
		DockerfileInline: df.inline,
		Tags:             f.tags,
		BuildArgs:        args,
		Platforms:        platforms,
		Target:           f.target,
		Secrets:          secrets,
		Labels:           labels,
		NoCache:          f.noCache,
	}, df, nil
}

// parseBuildArgs parses K=V pairs; a bare K takes its value from the
// environment and is skipped when unset, as docker does. Names, values and
// their number are checked as the gateway checks them.
func parseBuildArgs(in []string, lookupEnv func(string) (string, bool)) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range in {
		k, v, ok := strings.Cut(a, "=")
		if err := hallmark.ValidateBuildArg(k, ""); err != nil {
			return nil, fmt.Errorf("parse --build-arg %q: %w", a, err)
		}
		if !ok {
			if v, ok = lookupEnv(k); !ok {
				continue
			}
		}
		if err := hallmark.ValidateBuildArg(k, v); err != nil {
			return nil, fmt.Errorf("parse --build-arg %q: %w", k, err)
		}
		out[k] = v
	}
	if err := hallmark.ValidateBuildArgs(out); err != nil {
		return nil, fmt.Errorf("parse --build-arg: %w", err)
	}
	return out, nil
}

// parseLabels parses K=V pairs; a bare K is an empty label. Keys, values
// and their number are checked as the gateway checks them.
func parseLabels(in []string) (map[string]string, error) {
	out := map[string]string{}
	for _, l := range in {
		k, v, _ := strings.Cut(l, "=")
		out[k] = v
	}
	if err := hallmark.ValidateLabels(out); err != nil {
		return nil, fmt.Errorf("parse --label: %w", err)
	}
	return out, nil
}

// parsePlatforms splits repeated and comma-separated platforms and checks
// them as the gateway does.
func parsePlatforms(in []string) ([]string, error) {
	var out []string
	for _, p := range in {
		for _, s := range strings.Split(p, ",") {
			s = strings.TrimSpace(s)
			if s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	if err := hallmark.ValidatePlatforms(out); err != nil {
		return nil, fmt.Errorf("parse --platform: %w", err)
	}
	return out, nil
}

// parseSecrets parses buildx secret specs and reads their values. Errors
// name the secret, its file or variable, never its value.
func parseSecrets(in []string, getenv func(string) string) ([]*hallmarkv1.Secret, error) {
	var out []*hallmarkv1.Secret
	seen := map[string]bool{}
	for _, spec := range in {
		s, err := parseSecret(spec, getenv)
		if err != nil {
			return nil, fmt.Errorf("parse --secret %q: %w", spec, err)
		}
		if seen[s.GetId()] {
			return nil, fmt.Errorf("parse --secret %q: duplicate id %q", spec, s.GetId())
		}
		seen[s.GetId()] = true
		out = append(out, s)
	}
	checked := make([]hallmark.Secret, len(out))
	for i, s := range out {
		checked[i] = hallmark.Secret{ID: s.GetId(), Value: s.GetValue()}
	}
	if err := hallmark.ValidateSecrets(checked); err != nil {
		return nil, fmt.Errorf("parse --secret: %w", err)
	}
	return out, nil
}

func parseSecret(spec string, getenv func(string) string) (*hallmarkv1.Secret, error) {
	fields, err := csv.NewReader(strings.NewReader(spec)).Read()
	if err != nil {
		return nil, fmt.Errorf("read fields: %w", err)
	}
	var typ, id, src, envName string
	for _, field := range fields {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return nil, fmt.Errorf("field %q is not key=value", field)
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "type":
			if v != "file" && v != "env" {
				return nil, fmt.Errorf("unsupported type %q, want file or env", v)
			}
			typ = v
		case "id":
			id = v
		case "src", "source":
			src = v
		case "env":
			envName = v
		default:
			return nil, fmt.Errorf("unknown key %q", k)
		}
	}
	if id == "" {
		return nil, errors.New("id is required")
	}
	switch {
	case typ == "env" && envName == "":
		envName, src = src, ""
		if envName == "" {
			envName = id
		}
	case typ == "file" && envName != "":
		return nil, errors.New("env is not allowed with type=file")
	case typ == "file" && src == "":
		return nil, errors.New("src=FILE is required with type=file")
	}
	if src != "" && envName != "" {
		return nil, errors.New("give src or env, not both")
	}
	if src == "" && envName == "" {
		if getenv(id) == "" {
			return nil, errors.New("src=FILE or env=VAR is required")
		}
		envName = id
	}
	var value []byte
	if src != "" {
		fh, err := os.Open(src)
		if err != nil {
			return nil, fmt.Errorf("read secret file: %w", err)
		}
		defer fh.Close()
		if value, err = readBounded(fh, maxSecretBytes); err != nil {
			return nil, fmt.Errorf("read secret file %s: %w", src, err)
		}
	} else {
		v := getenv(envName)
		if v == "" {
			return nil, fmt.Errorf("environment variable %s is empty or not set", envName)
		}
		if len(v) > maxSecretBytes {
			return nil, fmt.Errorf("environment variable %s is larger than %s", envName, units.BytesSize(maxSecretBytes))
		}
		value = []byte(v)
	}
	return &hallmarkv1.Secret{Id: id, Value: value}, nil
}
