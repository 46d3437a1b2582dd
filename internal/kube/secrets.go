package kube

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	corev1 "k8s.io/api/core/v1"
)

// GetSecret reads the Secret namespace/name.
func (c *Client) GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	var s corev1.Secret
	if err := c.do(ctx, http.MethodGet, secretPath(namespace, name), "", nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// CreateSecret creates s in its namespace. It fails with an error
// IsAlreadyExists matches when a Secret of that name exists.
func (c *Client) CreateSecret(ctx context.Context, s *corev1.Secret) (*corev1.Secret, error) {
	if s.Namespace == "" || s.Name == "" {
		return nil, errors.New("create secret: no namespace or name")
	}
	body := *s
	body.APIVersion, body.Kind = "v1", "Secret"
	var out corev1.Secret
	if err := c.do(ctx, http.MethodPost, "/api/v1/namespaces/"+url.PathEscape(s.Namespace)+"/secrets", "application/json", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateSecret replaces s. Its resourceVersion must be the one read: the
// update fails with an error IsConflict matches when the Secret changed
// since.
func (c *Client) UpdateSecret(ctx context.Context, s *corev1.Secret) (*corev1.Secret, error) {
	if s.ResourceVersion == "" {
		return nil, fmt.Errorf("update secret %s/%s: no resourceVersion", s.Namespace, s.Name)
	}
	body := *s
	body.APIVersion, body.Kind = "v1", "Secret"
	var out corev1.Secret
	if err := c.do(ctx, http.MethodPut, secretPath(s.Namespace, s.Name), "application/json", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func secretPath(namespace, name string) string {
	return "/api/v1/namespaces/" + url.PathEscape(namespace) + "/secrets/" + url.PathEscape(name)
}
