package kube

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxResponseBytes bounds every response body: a Secret is at most 1 MiB.
const maxResponseBytes = 4 << 20

// Client calls one Kubernetes API server.
type Client struct {
	server    string
	http      *http.Client
	token     string
	tokenFile string
	namespace string
}

// Option configures a Client.
type Option func(*options) error

type options struct {
	httpClient *http.Client
	timeout    time.Duration
}

// WithHTTPClient makes the Client send its calls through c, whose
// transport must already trust the API server; the CA the Client was
// configured with is then not used. For tests. The default is a client of
// its own that trusts the configured CA only.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("nil http client")
		}
		o.httpClient = c
		return nil
	}
}

// WithTimeout bounds each call. The default is 30s.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("timeout %s is not positive", d)
		}
		o.timeout = d
		return nil
	}
}

// credentials is what a Client is made of, from the Pod or a kubeconfig.
type credentials struct {
	server    string
	caPEM     []byte
	token     string
	tokenFile string
	cert      *tls.Certificate
	namespace string
}

func newClient(c credentials, opts []Option) (*Client, error) {
	o := options{timeout: 30 * time.Second}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if !strings.HasPrefix(c.server, "https://") {
		return nil, fmt.Errorf("api server %q is not an https URL", c.server)
	}
	hc := o.httpClient
	if hc == nil {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if len(c.caPEM) > 0 {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(c.caPEM) {
				return nil, errors.New("the api server's CA holds no PEM certificate")
			}
			tc.RootCAs = pool
		}
		if c.cert != nil {
			tc.Certificates = []tls.Certificate{*c.cert}
		}
		hc = &http.Client{Transport: &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}}
	}
	hc2 := *hc
	hc2.Timeout = o.timeout
	return &Client{server: strings.TrimSuffix(c.server, "/"), http: &hc2, token: c.token, tokenFile: c.tokenFile, namespace: c.namespace}, nil
}

// Namespace is the namespace of the Pod the Client runs in (in-cluster) or
// of the kubeconfig's current context; empty when neither names one.
func (c *Client) Namespace() string { return c.namespace }

// bearer returns the token to send, re-reading the token file.
func (c *Client) bearer() (string, error) {
	if c.tokenFile == "" {
		return c.token, nil
	}
	b, err := os.ReadFile(c.tokenFile)
	if err != nil {
		return "", fmt.Errorf("read token file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// do sends one call and decodes a 2xx answer into out (if not nil).
func (c *Client) do(ctx context.Context, method, path, contentType string, body any, out any) error {
	what := strings.ToLower(method) + " " + path
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s: encode: %w", what, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, rd)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	token, err := c.bearer()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, redactErr(err, token))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("%s: read response: %w", what, redactErr(err, token))
	}
	if len(data) > maxResponseBytes {
		return fmt.Errorf("%s: response over %d bytes", what, maxResponseBytes)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %w", what, statusError(resp.StatusCode, data, token))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: decode response: %w", what, err)
	}
	return nil
}

// StatusError is an answer of the API server other than 2xx.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// Reason is the Status object's reason (NotFound, AlreadyExists,
	// Conflict, Forbidden, …), empty if the body was no Status.
	Reason metav1.StatusReason
	// Message is the Status object's message, or the start of the body.
	Message string
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%d %s", e.Code, http.StatusText(e.Code))
	}
	return fmt.Sprintf("%d %s: %s", e.Code, http.StatusText(e.Code), e.Message)
}

func statusError(code int, body []byte, token string) *StatusError {
	e := &StatusError{Code: code}
	var st metav1.Status
	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" {
		e.Reason, e.Message = st.Reason, st.Message
	} else {
		msg := strings.TrimSpace(string(body))
		if len(msg) > 512 {
			msg = msg[:512] + "…"
		}
		e.Message = msg
	}
	e.Message = redact(e.Message, token)
	return e
}

// redact removes the token from s: an API server or a proxy in front of it
// may echo a request back.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[redacted]")
}

func redactErr(err error, token string) error {
	if token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return errors.New(redact(err.Error(), token))
}

func isStatus(err error, code int, reason metav1.StatusReason) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Reason == reason || (se.Reason == "" && se.Code == code))
}

// IsNotFound reports whether err is the API server's 404 NotFound.
func IsNotFound(err error) bool {
	return isStatus(err, http.StatusNotFound, metav1.StatusReasonNotFound)
}

// IsAlreadyExists reports whether err is the API server's 409
// AlreadyExists: a create lost to another.
func IsAlreadyExists(err error) bool {
	return isStatus(err, http.StatusConflict, metav1.StatusReasonAlreadyExists)
}

// IsConflict reports whether err is the API server's 409 Conflict: an
// update or patch whose resourceVersion is no longer current.
func IsConflict(err error) bool {
	return isStatus(err, http.StatusConflict, metav1.StatusReasonConflict)
}
