package webhookcert

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/hallmark-dev/hallmark/internal/kube"
)

// publish sets caBundle on every webhook of the named configurations where
// it differs.
func (m *Manager) publish(ctx context.Context, caBundle []byte) error {
	var errs []error
	for _, c := range []struct {
		kind  kube.WebhookKind
		names []string
	}{{kube.Validating, m.o.validating}, {kube.Mutating, m.o.mutating}} {
		for _, name := range c.names {
			if err := m.publishTo(ctx, c.kind, name, caBundle); err != nil {
				errs = append(errs, fmt.Errorf("publish caBundle to %s %s: %w", c.kind, name, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) publishTo(ctx context.Context, kind kube.WebhookKind, name string, caBundle []byte) error {
	for range m.o.maxAttempts {
		wc, err := m.api.GetWebhookCABundles(ctx, kind, name)
		if err != nil {
			return err
		}
		var stale []string
		for _, w := range wc.Order {
			if !bytes.Equal(wc.CABundles[w], caBundle) {
				stale = append(stale, w)
			}
		}
		if len(stale) == 0 {
			return nil
		}
		err = m.api.PatchWebhookCABundles(ctx, kind, name, wc.ResourceVersion, stale, caBundle)
		if kube.IsConflict(err) {
			continue
		}
		if err != nil {
			return err
		}
		m.o.log.Info("webhook caBundle updated", "kind", string(kind), "name", name, "webhooks", stale)
		return nil
	}
	return fmt.Errorf("still conflicting after %d attempts", m.o.maxAttempts)
}
