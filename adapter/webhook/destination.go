package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
)

// RefusedError means a destination address is one webhooks may not reach:
// loopback, private, link-local and the like (DESIGN.md: refused unless
// GATEHOUSE_WEBHOOK_ALLOW_PRIVATE=true).
type RefusedError struct {
	Host   string // the name that resolved to Addr; "" when dialled or given as an address
	Addr   netip.Addr
	Reason string // the kind of address: "loopback", "private", ...
}

func (e *RefusedError) Error() string {
	if e.Host != "" {
		return fmt.Sprintf("destination %s resolves to %s (%s address), refused unless private destinations are allowed", e.Host, e.Addr, e.Reason)
	}
	return fmt.Sprintf("destination %s (%s address) is refused unless private destinations are allowed", e.Addr, e.Reason)
}

// refusal returns why a may not be dialled, or "" when it may. IPv4-mapped
// IPv6 addresses (::ffff:a.b.c.d) and the NAT64 well-known prefix
// (64:ff9b::/96) are judged by the IPv4 address inside them.
func refusal(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() && netip.PrefixFrom(netip.AddrFrom16([16]byte{0: 0x00, 1: 0x64, 2: 0xff, 3: 0x9b}), 96).Contains(a) {
		b := a.As16()
		if why := refusal(netip.AddrFrom4([4]byte(b[12:]))); why != "" {
			return why
		}
	}
	switch {
	case !a.IsValid():
		return "invalid"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast"
	case a.Is4() && netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, 0, 0}), 10).Contains(a):
		return "shared (CGNAT)"
	case a.Is4() && netip.PrefixFrom(netip.AddrFrom4([4]byte{0, 0, 0, 0}), 8).Contains(a):
		return "this-network"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	return ""
}

// control is the dialer's Control hook: it sees the address actually being
// connected to, after name resolution, so a name that resolves to a refused
// address (DNS rebinding included) is refused at delivery too.
func (s *Sender) control(_, address string, _ syscall.RawConn) error {
	if s.allowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Reason: "invalid"} // fail closed
	}
	if why := refusal(ap.Addr()); why != "" {
		return &RefusedError{Addr: ap.Addr().WithZone(""), Reason: why}
	}
	return nil
}

// CheckDestination refuses a webhook URL whose host is, or resolves to, any
// refused address, and a host that does not resolve. With private
// destinations allowed it accepts every URL. Its errors are fit to show the
// admin registering the webhook; the URL's path and query never appear in
// them.
func (s *Sender) CheckDestination(ctx context.Context, rawURL string) error {
	if s.allowPrivate {
		return nil
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		return errors.New("destination is not a URL with a host")
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if why := refusal(a); why != "" {
			return &RefusedError{Addr: a.WithZone(""), Reason: why}
		}
		return nil
	}
	addrs, err := s.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return fmt.Errorf("host %q does not resolve", host)
		}
		return fmt.Errorf("host %q could not be resolved; try again later", host)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("host %q does not resolve", host)
	}
	for _, a := range addrs {
		if why := refusal(a); why != "" {
			return &RefusedError{Host: host, Addr: a.Unmap().WithZone(""), Reason: why}
		}
	}
	return nil
}
