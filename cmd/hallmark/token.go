package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/hallmark-dev/hallmark/internal/devstack"
)

// devSubject is the subject of tokens fetched from the dev stack's issuer.
const devSubject = "dev-ci"

// tokenSource returns the bearer token for the next call. Token values are
// never part of an error.
type tokenSource func(ctx context.Context) (string, error)

// newTokenSource picks where tokens come from: --token-file (re-read before
// every call, since CI platforms rotate such files), else $HALLMARK_TOKEN,
// else the running dev stack's issuer.
func newTokenSource(file string, getenv func(string) string, stack stackLoader) tokenSource {
	if file != "" {
		return func(context.Context) (string, error) {
			data, err := os.ReadFile(file)
			if err != nil {
				return "", fmt.Errorf("read token file: %w", err)
			}
			tok := strings.TrimSpace(string(data))
			if tok == "" {
				return "", fmt.Errorf("read token file %s: file is empty", file)
			}
			return tok, nil
		}
	}
	if tok := strings.TrimSpace(getenv("HALLMARK_TOKEN")); tok != "" {
		return func(context.Context) (string, error) { return tok, nil }
	}
	var (
		mu  sync.Mutex
		tok string
	)
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if tok != "" {
			return tok, nil
		}
		s, err := stack()
		if errors.Is(err, devstack.ErrNotRunning) || (err == nil && s.Issuer == "") {
			return "", errors.New("find token: pass --token-file FILE, set HALLMARK_TOKEN, or start a dev stack with `hallmark dev up`")
		}
		if err != nil {
			return "", fmt.Errorf("find token: %w", err)
		}
		t, err := devstack.FetchToken(ctx, s.Issuer, devSubject, nil)
		if err != nil {
			return "", fmt.Errorf("fetch dev token: %w", err)
		}
		tok = t
		return tok, nil
	}
}

// bearer is the Authorization header value for tok.
func bearer(tok string) string { return "Bearer " + tok }
