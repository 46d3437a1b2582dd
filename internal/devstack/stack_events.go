package devstack

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// registryEventsTokenFile is the file, in the stack's directory, holding
// the token the registry sends with its notifications to the gateway.
const registryEventsTokenFile = "registry-events-token"

// newRegistryEventsToken makes a fresh token for the registry's
// notifications and writes it to the stack's directory, where the
// gateway's registryEvents.tokenFile points.
func (s *Stack) newRegistryEventsToken() error {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	s.eventsToken = hex.EncodeToString(b)
	s.eventsTokenFile = filepath.Join(s.cfg.Dir, registryEventsTokenFile)
	if err := os.WriteFile(s.eventsTokenFile, []byte(s.eventsToken+"\n"), 0o600); err != nil {
		return fmt.Errorf("write the registry events token: %w", err)
	}
	return nil
}

// registryNotifications is the registry configuration's notifications
// section: every event goes to the gateway at gatewayAddr
// (server.RegistryEventsPath, which this package may not import) with the token,
// except blob events, which the gateway skips anyway. The registry queues
// and retries, so it may start before the gateway.
func registryNotifications(gatewayAddr, token string) string {
	return fmt.Sprintf(`notifications:
  endpoints:
    - name: hallmark
      url: http://%s/registry/events
      headers:
        Authorization: [Bearer %s]
      timeout: 2s
      threshold: 5
      backoff: 1s
      ignoredmediatypes: [application/octet-stream]
`, gatewayAddr, token)
}
