package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/classifyd/classifyd/api"
	"github.com/classifyd/classifyd/internal/budget"
)

// fetcher downloads URL inputs with every limit the service promises:
// http/https only, a size cap, a timeout, a bounded number of redirects,
// and no connections to loopback, private, link-local, unspecified or
// multicast addresses unless allow-listed. The address check runs in the
// dialer's Control hook, after DNS resolution, on the address actually
// dialled, so neither DNS rebinding nor a redirect to an internal host gets
// around it; every hop of a redirect chain is checked again. It is safe for
// concurrent use.
type fetcher struct {
	client   *http.Client
	maxBytes int64
	timeout  time.Duration
	hosts    []allowHost
	prefixes []allowPrefix
}

// allowHost and allowPrefix are url_allow_hosts entries: a host name, or
// an address range, with the one port they open (0: the scheme's default
// port, so an allowed host does not open all its ports).
type (
	allowHost struct {
		name string // lower case, no trailing dot
		port uint16
	}
	allowPrefix struct {
		prefix netip.Prefix
		port   uint16
	}
)

// parseAllow reads one url_allow_hosts entry: host, host:port, IP,
// IP:port, [IPv6]:port, CIDR or CIDR:port.
func parseAllow(a string) (*allowHost, *allowPrefix, error) {
	host, port := a, uint16(0)
	if i := strings.LastIndexByte(a, ':'); i >= 0 {
		// A colon starts a port unless it is part of a bare IPv6
		// address or prefix ("fd00::1", "fd00::/8").
		p, err := strconv.ParseUint(a[i+1:], 10, 16)
		bareV6 := strings.Count(a, ":") > 1 && !strings.HasPrefix(a, "[")
		if slash := strings.IndexByte(a, '/'); slash >= 0 {
			bareV6 = i < slash
		}
		if !bareV6 {
			if err != nil || p == 0 {
				return nil, nil, fmt.Errorf("%q: bad port", a)
			}
			host, port = a[:i], uint16(p)
		}
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.Contains(host, "/") {
		p, err := netip.ParsePrefix(host)
		if err != nil {
			return nil, nil, fmt.Errorf("%q: %w", a, err)
		}
		return nil, &allowPrefix{prefix: netip.PrefixFrom(unwrapIPv4(p.Addr()), bitsUnwrapped(p)).Masked(), port: port}, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = unwrapIPv4(ip)
		return nil, &allowPrefix{prefix: netip.PrefixFrom(ip, ip.BitLen()), port: port}, nil
	}
	if host == "" {
		return nil, nil, fmt.Errorf("%q: no host", a)
	}
	return &allowHost{name: strings.ToLower(strings.TrimSuffix(host, ".")), port: port}, nil, nil
}

func bitsUnwrapped(p netip.Prefix) int {
	if a := p.Addr(); a.Is6() && unwrapIPv4(a).Is4() {
		return max(p.Bits()-96, 0)
	}
	return p.Bits()
}

// unwrapIPv4 turns IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible
// (::a.b.c.d) IPv6 addresses into the IPv4 address they carry, so that
// [::127.0.0.1] is checked as the loopback address it reaches.
func unwrapIPv4(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if !ip.Is6() {
		return ip
	}
	b := ip.As16()
	for _, v := range b[:12] {
		if v != 0 {
			return ip
		}
	}
	return netip.AddrFrom4([4]byte(b[12:]))
}

// hopKey is the context key of the hop being dialled.
type hopKey struct{}

// hop is what the dialer needs to know of the request it dials for: the
// URL's scheme default port and whether its host name is allow-listed on
// its port.
type hop struct {
	defaultPort uint16
	hostAllowed bool
}

func newFetcher(allow []string, maxBytes int64, timeout time.Duration, maxRedirects int) (*fetcher, error) {
	f := &fetcher{maxBytes: maxBytes, timeout: timeout}
	for _, a := range allow {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		h, p, err := parseAllow(a)
		if err != nil {
			return nil, fmt.Errorf("url allow list: %w", err)
		}
		if h != nil {
			f.hosts = append(f.hosts, *h)
		} else {
			f.prefixes = append(f.prefixes, *p)
		}
	}
	guarded := &net.Dialer{Timeout: timeout, ControlContext: f.control}
	open := &net.Dialer{Timeout: timeout}
	transport := &http.Transport{
		// An environment proxy would make the dialer see the proxy's
		// address instead of the target's, defeating the check.
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if h, _ := ctx.Value(hopKey{}).(hop); h.hostAllowed {
				return open.DialContext(ctx, network, addr)
			}
			return guarded.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          16,
		IdleConnTimeout:       30 * time.Second,
		DisableCompression:    true, // a gzip bomb would bypass the size cap's intent
	}
	f.client = &http.Client{
		Transport: hopTransport{f: f, next: transport},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("%w: more than %d redirects", api.ErrFetch, maxRedirects)
			}
			return checkScheme(req.URL)
		},
	}
	return f, nil
}

// hopTransport marks every request it sends, the first and each redirect,
// with its hop, so the dialer judges each against its own URL.
type hopTransport struct {
	f    *fetcher
	next http.RoundTripper
}

func (t hopTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	h := hop{defaultPort: 80}
	if req.URL.Scheme == "https" {
		h.defaultPort = 443
	}
	port := h.defaultPort
	if p := req.URL.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("%w: bad port", api.ErrBadRequest)
		}
		port = uint16(n)
	}
	name := strings.ToLower(strings.TrimSuffix(req.URL.Hostname(), "."))
	for _, a := range t.f.hosts {
		if a.name == name && portAllowed(a.port, port, h.defaultPort) {
			h.hostAllowed = true
		}
	}
	return t.next.RoundTrip(req.WithContext(context.WithValue(req.Context(), hopKey{}, h)))
}

func portAllowed(entry, port, defaultPort uint16) bool {
	if entry == 0 {
		return port == defaultPort
	}
	return port == entry
}

func checkScheme(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: URL scheme %s (only http and https)", api.ErrForbidden, api.Quote(u.Scheme))
	}
	if u.Host == "" {
		return fmt.Errorf("%w: URL has no host", api.ErrBadRequest)
	}
	return nil
}

// control refuses to connect to internal addresses that are not
// allow-listed (with their port).
func (f *fetcher) control(ctx context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot check address %q: %v", api.ErrForbidden, address, err)
	}
	h, _ := ctx.Value(hopKey{}).(hop)
	ip := unwrapIPv4(ap.Addr())
	for _, p := range f.prefixes {
		if p.prefix.Contains(ip) && portAllowed(p.port, ap.Port(), h.defaultPort) {
			return nil
		}
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || isSpecial(ip) {
		return fmt.Errorf("%w: URL resolves to %s, an internal address (allow it with url_allow_hosts)", api.ErrForbidden, ap)
	}
	return nil
}

// specialPrefixes are non-public ranges that netip's predicates miss:
// carrier-grade NAT, "this network", benchmarking, and IPv6 ranges that
// embed IPv4 addresses (NAT64, 6to4) which could reach internal hosts.
var specialPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("2002::/16"),
}

func isSpecial(ip netip.Addr) bool {
	for _, p := range specialPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// The messages a client sees for a failed fetch: the detail (addresses,
// resolver errors, whether a port is open) goes to the log only.
const (
	msgFetchFailed = "the image URL could not be fetched"
	msgForbidden   = "the image URL's address is not allowed (see url_allow_hosts)"
)

// fetch downloads raw inside the request's memory lease, refusing more
// than maxBytes.
func (f *fetcher) fetch(ctx context.Context, raw string, rd reader) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: image.url is not a URL", api.ErrBadRequest)
	}
	if err := checkScheme(u); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: image.url is not a usable URL", api.ErrBadRequest)
	}
	req.Header.Set("Accept", "image/*")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fetchError(u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, api.WithPublic(msgFetchFailed, fmt.Errorf("%w: %s answered %s", api.ErrFetch, u.Redacted(), resp.Status))
	}
	if resp.ContentLength > f.maxBytes {
		return nil, fmt.Errorf("%w: the image at the URL is %d bytes, limit %d", api.ErrTooLarge, resp.ContentLength, f.maxBytes)
	}
	data, _, err := rd.readAll(resp.Body, max(resp.ContentLength, 0), f.maxBytes)
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb):
		return nil, fmt.Errorf("%w: the image at the URL is larger than %d bytes", api.ErrTooLarge, f.maxBytes)
	case err != nil:
		return nil, fetchError(u, err)
	}
	return data, nil
}

// fetchError keeps the sentinels that decide the status (forbidden,
// timeout, busy) and calls everything else an upstream failure; the
// client is told which of these it was, the log what happened.
func fetchError(u *url.URL, err error) error {
	detail := fmt.Errorf("fetch %s: %w", u.Redacted(), err)
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, budget.ErrBusy), errors.Is(err, budget.ErrExceeds):
		return detail
	case errors.Is(err, api.ErrForbidden):
		return api.WithPublic(msgForbidden, detail)
	case errors.Is(err, api.ErrBadRequest):
		return api.WithPublic("image.url is not a usable URL", detail)
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return api.WithPublic("fetching the image URL timed out", fmt.Errorf("%w: %w", context.DeadlineExceeded, detail))
	}
	return api.WithPublic(msgFetchFailed, fmt.Errorf("%w: %w", api.ErrFetch, detail))
}
