package pool

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Resolver looks up the addresses of a host (net.Resolver).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// SRVResolver looks up SRV records (net.Resolver).
type SRVResolver interface {
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
}

var _ SRVResolver = (*net.Resolver)(nil)

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

// SRV returns a discovery of workers by the SRV records of name
// ("_grpc._tcp.buildkitd.ns.svc.cluster.local": a headless Service of a
// StatefulSet has one per ready pod, naming the pod's stable host name),
// each as tcp://target:port, sorted. Stable names keep a restarted pod's
// share of the builds (and its cache) where it was. No record is an error.
func SRV(r SRVResolver, name string) func(ctx context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		_, srvs, err := r.LookupSRV(ctx, "", "", name)
		if err != nil {
			return nil, fmt.Errorf("look up buildkit workers %s: %w", name, err)
		}
		out := make([]string, 0, len(srvs))
		for _, s := range srvs {
			target := strings.TrimSuffix(s.Target, ".")
			if target == "" || s.Port == 0 {
				continue
			}
			out = append(out, "tcp://"+net.JoinHostPort(target, strconv.Itoa(int(s.Port))))
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("look up buildkit workers %s: no record", name)
		}
		slices.Sort(out)
		return slices.Compact(out), nil
	}
}
