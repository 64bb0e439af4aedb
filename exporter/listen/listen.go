// Package listen serves an http.Server the way the project's servers (aiops_exporter and
// incidentd) share: on the systemd-activated sockets (--web.systemd-socket) or the listen
// addresses, each listener bounded to a number of connections, with TLS and basic auth
// (--web.config.file) from exporter-toolkit.
//
// It opens the listeners itself rather than letting exporter-toolkit do it only so it can
// wrap them: every connection costs a file descriptor and a goroutine with its buffers, and
// past the limit connections wait in the kernel's accept queue instead (as Prometheus's
// --web.max-connections does), while the server's timeouts free every held place in
// bounded time. vsock addresses are left to exporter-toolkit, uncounted.
package listen

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/net/netutil"
)

// Options say where and how to listen.
type Options struct {
	// Web holds exporter-toolkit's flags: listen addresses, systemd socket, web config file.
	Web *web.FlagConfig
	// Listener, when set, is served instead (tests).
	Listener net.Listener
	// MaxConnections bounds each listener's open connections (0: unbounded).
	MaxConnections int
	Logger         *slog.Logger
}

// Serve serves srv until it is shut down; it returns what exporter-toolkit's serving
// returns (http.ErrServerClosed after a shutdown) or why it could not listen.
func Serve(srv *http.Server, o Options) error {
	flags := o.Web
	var listeners []net.Listener
	switch {
	case o.Listener != nil:
		listeners = []net.Listener{o.Listener}
	case flags.WebSystemdSocket != nil && *flags.WebSystemdSocket:
		o.Logger.Info("listening on systemd activated listeners instead of port listeners")
		ls, err := activation.Listeners()
		if err != nil {
			return fmt.Errorf("systemd socket activation: %w", err)
		}
		if len(ls) == 0 {
			return errors.New("--web.systemd-socket: no socket activation file descriptors found")
		}
		listeners = ls
	default:
		for _, addr := range *flags.WebListenAddresses {
			if strings.HasPrefix(addr, "vsock://") {
				o.Logger.Warn("--web.max-connections does not apply to vsock listeners", "address", addr)
				closeAll(listeners)
				return web.ListenAndServe(srv, flags, o.Logger)
			}
			l, err := net.Listen("tcp", addr)
			if err != nil {
				closeAll(listeners)
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			listeners = append(listeners, l)
		}
	}
	for i, l := range listeners {
		o.Logger.Info("listening", "address", l.Addr().String(), "max_connections", o.MaxConnections)
		if o.MaxConnections > 0 {
			listeners[i] = netutil.LimitListener(l, o.MaxConnections)
		}
	}
	defer closeAll(listeners)
	return web.ServeMultiple(listeners, srv, flags, o.Logger)
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		_ = l.Close()
	}
}
