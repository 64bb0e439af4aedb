package app

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/net/netutil"
)

// listenAndServe serves on Options.Listener, the systemd-activated sockets
// (--web.systemd-socket) or the listen addresses, each listener bounded to MaxConnections
// connections. It opens the listeners itself, as exporter/app does, only so it can wrap
// them: TLS and basic auth (--web.config.file) come from exporter-toolkit's ServeMultiple,
// and vsock addresses are left to its ListenAndServe.
func (a *App) listenAndServe(srv *http.Server) error {
	flags := a.opts.Web
	var listeners []net.Listener
	switch {
	case a.opts.Listener != nil:
		listeners = []net.Listener{a.opts.Listener}
	case flags.WebSystemdSocket != nil && *flags.WebSystemdSocket:
		a.logger.Info("listening on systemd activated listeners instead of port listeners")
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
				a.logger.Warn("--web.max-connections does not apply to vsock listeners", "address", addr)
				closeAll(listeners)
				return web.ListenAndServe(srv, flags, a.logger)
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
		a.logger.Info("listening", "address", l.Addr().String(), "max_connections", a.opts.MaxConnections)
		// Each connection costs a file descriptor and a goroutine with its buffers: past
		// the limit, connections wait in the kernel's accept queue instead, and the server's
		// timeouts make every held place free up in bounded time.
		listeners[i] = netutil.LimitListener(l, a.opts.MaxConnections)
	}
	defer closeAll(listeners)
	return web.ServeMultiple(listeners, srv, flags, a.logger)
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		_ = l.Close()
	}
}
