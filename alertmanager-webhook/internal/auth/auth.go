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
	"unicode"
	"unicode/utf8"

	"github.com/opscentre/opscentre/alertmanager-webhook/incidentapi"
)

// Role orders what a caller may do.
type Role int

// Roles, weakest first.
const (
	// Application is an AI application's token: it may only read containments (to obey
	// them), nothing about incidents.
	Application Role = iota + 1
	Viewer           // read incidents and stats
	Responder        // act on incidents
	Admin            // audit log, reload
)

func (r Role) String() string {
	switch r {
	case Application:
		return "application"
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
	case "application":
		return Application, nil
	case "viewer":
		return Viewer, nil
	case "responder":
		return Responder, nil
	case "admin":
		return Admin, nil
	}
	return 0, fmt.Errorf("unknown role %q, expected viewer, responder, admin or application", s)
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

// EmptyHash is the SHA-256 of the empty string. A configured digest equal to it would let
// a request with no secret at all in (a `Bearer` followed by nothing, or by whitespace that
// some code trims away), so the configuration and New refuse it.
var EmptyHash = Hash("")

// EmptyHashHex is EmptyHash as sha256sum prints it.
const EmptyHashHex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Errors of Authenticate; the API maps them to 401 and 403.
var (
	ErrUnauthenticated = errors.New("missing or unknown bearer token")
	ErrForbidden       = errors.New("forbidden")
	// ErrBadDelegation is a delegated user name (X-Grafana-User) that cannot be recorded
	// as an actor; the API answers 400.
	ErrBadDelegation = errors.New("invalid " + DelegationHeader)
)

// MaxUserLength bounds a delegated user name, in bytes.
const MaxUserLength = 128

// CheckUser checks a delegated user name before it is recorded in timelines and the
// audit log as "user (via token)": valid UTF-8 of at most MaxUserLength bytes, visible
// characters and plain spaces only — no control characters (a forged log line), no format
// characters such as bidirectional overrides or zero-width spaces (text that reads
// differently from what is stored), no other kind of space — and no parentheses, which
// would let a user name carry its own "(via …)" and pass for a different delegation.
func CheckUser(user string) error {
	switch {
	case len(user) > MaxUserLength:
		return fmt.Errorf("%w: a user name of at most %d bytes, got %d", ErrBadDelegation, MaxUserLength, len(user))
	case !utf8.ValidString(user):
		return fmt.Errorf("%w: not valid UTF-8", ErrBadDelegation)
	}
	for i, r := range user {
		switch {
		case r == '(' || r == ')':
			return fmt.Errorf("%w: parentheses are not allowed in a user name (they mark the delegating token, as in \"bob (via grafana)\")", ErrBadDelegation)
		case r != ' ' && (unicode.IsSpace(r) || !unicode.IsGraphic(r)):
			return fmt.Errorf("%w: character %U at byte %d is a control, format or space character; expected a user name of visible characters", ErrBadDelegation, r, i)
		}
	}
	return nil
}

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
	for i, h := range webhookBearer {
		if h == EmptyHash {
			return nil, fmt.Errorf("webhook bearer token %d is the SHA-256 of the empty string", i)
		}
	}
	for u, h := range webhookBasic {
		if h == EmptyHash {
			return nil, fmt.Errorf("webhook password of %q is the SHA-256 of the empty string", u)
		}
	}
	for _, t := range tokens {
		if t.SHA256 == EmptyHash {
			return nil, fmt.Errorf("token of %q is the SHA-256 of the empty string", t.Subject)
		}
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

// bearer returns the request's bearer token. present is false without an Authorization
// header of the Bearer scheme; a Bearer header whose token is empty, whitespace (in any
// Unicode sense) or holds invisible characters is present but refused with
// ErrUnauthenticated before anything is hashed: no configured digest may match it.
func bearer(r *http.Request) (tok string, present bool, err error) {
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false, nil
	}
	tok = strings.TrimSpace(rest)
	if !ValidToken(tok) {
		return "", true, fmt.Errorf("%w: empty or malformed bearer token", ErrUnauthenticated)
	}
	return tok, true, nil
}

// ValidToken is the API's rule for a bearer token (incidentapi.ValidToken).
func ValidToken(tok string) bool { return incidentapi.ValidToken(tok) }

// Authenticate identifies an API caller.
func (a *Authenticator) Authenticate(r *http.Request) (Principal, error) {
	tok, present, err := bearer(r)
	if err != nil {
		return Principal{}, err
	}
	if !present {
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
	// HTTP whitespace only is trimmed: anything else is checked by CheckUser.
	if user := strings.Trim(r.Header.Get(DelegationHeader), " \t"); user != "" {
		if !t.Delegate {
			return Principal{}, fmt.Errorf("%w: token of %q may not act for another user (%s)", ErrForbidden, t.Subject, DelegationHeader)
		}
		if err := CheckUser(user); err != nil {
			return Principal{}, err
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
	if tok, present, err := bearer(r); present {
		if err != nil {
			return false
		}
		h := Hash(tok)
		for _, b := range a.bearer {
			if subtle.ConstantTimeCompare(h[:], b[:]) == 1 {
				return true
			}
		}
		return false
	}
	if u, pw, ok := r.BasicAuth(); ok && pw != "" {
		want, known := a.basic[u]
		h := Hash(pw)
		return known && subtle.ConstantTimeCompare(h[:], want[:]) == 1
	}
	return false
}
