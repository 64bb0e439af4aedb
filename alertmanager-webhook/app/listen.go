package app

import (
	"net/http"

	"github.com/opscentre/opscentre/exporter/listen"
)

// listenAndServe serves as every server of the project does (package listen): on
// Options.Listener, the systemd-activated sockets or the listen addresses, each listener
// bounded to MaxConnections connections.
func (a *App) listenAndServe(srv *http.Server) error {
	return listen.Serve(srv, listen.Options{Web: a.opts.Web, Listener: a.opts.Listener, MaxConnections: a.opts.MaxConnections, Logger: a.logger})
}
