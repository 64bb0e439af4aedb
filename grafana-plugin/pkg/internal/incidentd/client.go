// Package incidentd is the plugin's client of incidentd's REST API (/api/v1): the API's
// own client and types (package incidentapi, the contract incidentd serves), with the
// plugin's fast decoders of incident pages and of the table view in front of it.
package incidentd

import (
	"context"
	"net/http"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
	"github.com/valyala/fastjson"
)

// The API's names, as the plugin uses them.
const (
	DelegationHeader = incidentapi.DelegationHeader
	PageLimit        = incidentapi.PageLimit
)

// The API's types, under the names the plugin's code has always used.
type (
	State            = incidentapi.State
	Tier             = incidentapi.Tier
	Incident         = incidentapi.Incident
	Alert            = incidentapi.Alert
	TimelineEntry    = incidentapi.TimelineEntry
	Note             = incidentapi.Note
	Detail           = incidentapi.Detail
	Page             = incidentapi.Page
	Bucket           = incidentapi.Bucket
	Stats            = incidentapi.Stats
	Change           = incidentapi.Change
	Filter           = incidentapi.Filter
	NoteInput        = incidentapi.NoteInput
	Error            = incidentapi.Error
	Observer         = incidentapi.Observer
	Containment      = incidentapi.Containment
	ContainmentMatch = incidentapi.ContainmentMatch
	ContainmentInput = incidentapi.ContainmentRequest
)

// ErrNotIncidentd reports an answer that is not from incidentd (e.g. HTML from another service).
var ErrNotIncidentd = incidentapi.ErrNotIncidentd

// StatusOf returns the HTTP status of an incidentd error (0 if unreachable or not one).
func StatusOf(err error) int { return incidentapi.StatusOf(err) }

// Client calls one incidentd: incidentapi's client, whose pages of incidents the plugin
// decodes with fastjson, and the table view (ListTable).
type Client struct {
	*incidentapi.Client
	parsers fastjson.ParserPool
	// tableParsers keeps the table view's parsers warm between listings. A sync.Pool
	// (fastjson.ParserPool) is emptied by the garbage collector, which a listing of
	// thousands of rows runs: a parser's first page then allocates its whole tree of
	// values again, several times the cost of refilling a tree it already has
	// (BenchmarkDecodeTable: cold vs warm).
	tableParsers chan *fastjson.Parser
}

// New builds a client for the incidentd at base (scheme://host[/prefix]).
func New(base, token string, hc *http.Client, observe Observer) *Client {
	c := &Client{tableParsers: make(chan *fastjson.Parser, warmParsers)}
	c.Client = incidentapi.New(base, incidentapi.Options{Token: token, HTTP: hc, Observe: observe, DecodePage: c.decodePageBytes})
	return c
}

// MaxActiveContainments is how many active containments the plugin reads for a table: the
// largest page incidentd serves.
const MaxActiveContainments = 1000

// ActiveContainments lists the containments in force, of every model and incident, so an
// incidents table can show each incident's in one request.
func (c *Client) ActiveContainments(ctx context.Context) ([]Containment, error) {
	return c.ListContainments(ctx, incidentapi.ContainmentFilter{Active: true, Limit: MaxActiveContainments})
}

// decodePageBytes decodes a page of incidents with a pooled parser (decodePage).
func (c *Client) decodePageBytes(data []byte) (*Page, error) {
	p := c.parsers.Get()
	defer c.parsers.Put(p)
	return decodePage(p, data)
}
