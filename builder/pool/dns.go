package pool

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// Resolver looks up the addresses of a host (net.Resolver).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var _ Resolver = (*net.Resolver)(nil)

// DNS returns a discovery of workers by DNS: the A and AAAA records of host
// (a Kubernetes headless Service has one per ready pod), each as
// tcp://ip:port, sorted. A host with no record is an error, so that a
// failed lookup never empties the pool.
func DNS(r Resolver, host, port string) func(ctx context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		ips, err := r.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("look up buildkit workers %s: %w", host, err)
		}
		if len(ips) == 0 {
			return nil, fmt.Errorf("look up buildkit workers %s: no address", host)
		}
		out := make([]string, 0, len(ips))
		for _, ip := range ips {
			out = append(out, "tcp://"+net.JoinHostPort(ip.Unmap().String(), port))
		}
		slices.Sort(out)
		return slices.Compact(out), nil
	}
}
