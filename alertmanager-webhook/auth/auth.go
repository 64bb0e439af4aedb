// Package auth checks the credentials of API callers and of Alertmanager.
//
// Tokens are kept only as SHA-256 digests: the configuration never holds a usable secret,
// and comparing digests of high-entropy tokens leaks nothing through timing. Each token has
// a subject (who is acting) and a role; a token may be allowed to delegate, i.e. to act for
// a user named in the X-Grafana-User header, which the Grafana plugin uses to attribute
// actions to the Grafana user instead of the plugin's service token.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Role orders what a caller may do.
type Role int

// Roles, weakest first.
const (
	Viewer    Role = iota + 1 // read incidents and stats
	Responder                 // act on incidents
	Admin                     // audit log, reload
)

func (r Role) String() string {
	switch r {
	case Viewer:
		return "viewer"
	case Responder:
		return "responder"
	case Admin:
		return "admin"
	}
	return fmt.Sprintf("role(%d)", int(r))
}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	switch s {
	case "viewer":
		return Viewer, nil
	case "responder":
		return Responder, nil
	case "admin":
		return Admin, nil
	}
	return 0, fmt.Errorf("unknown role %q, expected viewer, responder or admin", s)
}

// DelegationHeader names the user a delegating token acts for.
const DelegationHeader = "X-Grafana-User"

// Token is a configured API token.
type Token struct {
	Subject  string
	Role     Role
	SHA256   [32]byte
	Delegate bool
}

// Principal is an authenticated caller.
type Principal struct {
	Subject string // who the action is attributed to
	Role    Role
	Via     string // the delegating token's subject, when acting for a user
}

// Actor is the name recorded in timelines and the audit log.
func (p Principal) Actor() string {
	if p.Via != "" {
		return p.Subject + " (via " + p.Via + ")"
	}
	return p.Subject
}

// Hash digests a token.
func Hash(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// Errors of Authenticate; the API maps them to 401 and 403.
var (
	ErrUnauthenticated = errors.New("missing or unknown bearer token")
	ErrForbidden       = errors.New("forbidden")
)

// Authenticator holds the tokens of one configuration.
type Authenticator struct {
	tokens map[[32]byte]Token
	bearer [][32]byte
	basic  map[string][32]byte
}

// New builds an authenticator; webhookBearer and webhookBasic (user → password digest)
// are the credentials accepted from Alertmanager.
func New(tokens []Token, webhookBearer [][32]byte, webhookBasic map[string][32]byte) (*Authenticator, error) {
	a := &Authenticator{tokens: map[[32]byte]Token{}, bearer: webhookBearer, basic: webhookBasic}
	for _, t := range tokens {
		if _, dup := a.tokens[t.SHA256]; dup {
			return nil, fmt.Errorf("token of %q is listed twice", t.Subject)
		}
		a.tokens[t.SHA256] = t
	}
	return a, nil
}

// Open reports whether no API token is configured; the API then lets anyone read but
// nobody change anything.
func (a *Authenticator) Open() bool { return len(a.tokens) == 0 }

// WebhookOpen reports whether the webhook accepts unauthenticated posts.
func (a *Authenticator) WebhookOpen() bool { return len(a.bearer) == 0 && len(a.basic) == 0 }

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// Authenticate identifies an API caller.
func (a *Authenticator) Authenticate(r *http.Request) (Principal, error) {
	tok, ok := bearer(r)
	if !ok {
		if a.Open() {
			return Principal{Subject: "anonymous", Role: Viewer}, nil
		}
		return Principal{}, ErrUnauthenticated
	}
	t, ok := a.tokens[Hash(tok)]
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	p := Principal{Subject: t.Subject, Role: t.Role}
	if user := strings.TrimSpace(r.Header.Get(DelegationHeader)); user != "" {
		if !t.Delegate {
			return Principal{}, fmt.Errorf("%w: token of %q may not act for another user (%s)", ErrForbidden, t.Subject, DelegationHeader)
		}
		if len(user) > 128 || strings.ContainsAny(user, "\r\n") {
			return Principal{}, fmt.Errorf("%w: %s must be a user name of at most 128 characters", ErrForbidden, DelegationHeader)
		}
		p.Subject, p.Via = user, t.Subject
	}
	return p, nil
}

// AuthorizeWebhook checks Alertmanager's credentials (bearer token or basic auth).
func (a *Authenticator) AuthorizeWebhook(r *http.Request) bool {
	if a.WebhookOpen() {
		return true
	}
	if tok, ok := bearer(r); ok {
		h := Hash(tok)
		for _, b := range a.bearer {
			if subtle.ConstantTimeCompare(h[:], b[:]) == 1 {
				return true
			}
		}
		return false
	}
	if u, pw, ok := r.BasicAuth(); ok {
		want, known := a.basic[u]
		h := Hash(pw)
		return known && subtle.ConstantTimeCompare(h[:], want[:]) == 1
	}
	return false
}
