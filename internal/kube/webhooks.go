package kube

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// WebhookKind is one of the two kinds of admission webhook configuration.
type WebhookKind string

// The two kinds of webhook configuration.
const (
	Validating WebhookKind = "validatingwebhookconfigurations"
	Mutating   WebhookKind = "mutatingwebhookconfigurations"
)

// WebhookCABundles is what the gateway reads of a webhook configuration:
// its resourceVersion and the caBundle of each webhook, by webhook name.
type WebhookCABundles struct {
	ResourceVersion string
	CABundles       map[string][]byte
	// Order is the webhooks' names in the configuration's order.
	Order []string
}

// webhookConfiguration decodes both kinds: their webhooks share these fields.
type webhookConfiguration struct {
	Metadata struct {
		ResourceVersion string `json:"resourceVersion"`
	} `json:"metadata"`
	Webhooks []struct {
		Name         string `json:"name"`
		ClientConfig struct {
			CABundle []byte `json:"caBundle"`
		} `json:"clientConfig"`
	} `json:"webhooks"`
}

// GetWebhookCABundles reads the caBundle of every webhook of the
// configuration kind/name.
func (c *Client) GetWebhookCABundles(ctx context.Context, kind WebhookKind, name string) (*WebhookCABundles, error) {
	var wc webhookConfiguration
	if err := c.do(ctx, http.MethodGet, webhookPath(kind, name), "", nil, &wc); err != nil {
		return nil, err
	}
	out := &WebhookCABundles{ResourceVersion: wc.Metadata.ResourceVersion, CABundles: map[string][]byte{}}
	for _, w := range wc.Webhooks {
		out.CABundles[w.Name] = w.ClientConfig.CABundle
		out.Order = append(out.Order, w.Name)
	}
	return out, nil
}

// PatchWebhookCABundles sets the caBundle of the named webhooks of the
// configuration kind/name to caBundle, with a strategic merge patch keyed
// by webhook name that carries resourceVersion: it fails with an error
// IsConflict matches when the configuration changed since it was read, so
// a webhook added or renamed in between is never missed.
func (c *Client) PatchWebhookCABundles(ctx context.Context, kind WebhookKind, name, resourceVersion string, webhooks []string, caBundle []byte) error {
	type clientConfig struct {
		CABundle []byte `json:"caBundle"`
	}
	type webhook struct {
		Name         string       `json:"name"`
		ClientConfig clientConfig `json:"clientConfig"`
	}
	patch := struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
		Webhooks []webhook `json:"webhooks"`
	}{}
	patch.Metadata.ResourceVersion = resourceVersion
	for _, w := range webhooks {
		patch.Webhooks = append(patch.Webhooks, webhook{Name: w, ClientConfig: clientConfig{CABundle: bytes.Clone(caBundle)}})
	}
	if err := c.do(ctx, http.MethodPatch, webhookPath(kind, name), "application/strategic-merge-patch+json", patch, nil); err != nil {
		return fmt.Errorf("patch caBundle: %w", err)
	}
	return nil
}

func webhookPath(kind WebhookKind, name string) string {
	return "/apis/admissionregistration.k8s.io/v1/" + string(kind) + "/" + url.PathEscape(name)
}
