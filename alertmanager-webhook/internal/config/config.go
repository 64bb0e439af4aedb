// Package config reads incidentd's YAML configuration: the incident policy, the response
// targets per tier, webhook credentials and API tokens.
//
// Defaults and checks happen while decoding, unknown keys are errors, and every error names
// the offending field, so `incidentd --config.check` says exactly what to fix.
package config

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/opscentre/opscentre/alertmanager-webhook/containment"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/auth"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/containhook"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/escalation"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/heartbeat"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/oncall"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/routing"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/store"
)

// Config is the whole file.
type Config struct {
	Incidents Incidents                        `yaml:"incidents"`
	SLA       map[incident.Tier]model.Duration `yaml:"sla"`
	Webhook   Webhook                          `yaml:"webhook"`
	API       API                              `yaml:"api"`
	Changes   Changes                          `yaml:"changes"`
	OnCall    oncall.Config                    `yaml:"oncall"`
	// Routing, EscalationPolicies, People and Channels drive notifications.
	Routing            routing.Config            `yaml:"routing"`
	EscalationPolicies []escalation.PolicyConfig `yaml:"escalation_policies"`
	People             map[string][]string       `yaml:"people"` // person → channel names
	Channels           []Channel                 `yaml:"channels"`
	Notifications      Notifications             `yaml:"notifications"`
	// Heartbeats are the dead-man's switch: alerts that must keep arriving.
	Heartbeats []heartbeat.Config `yaml:"heartbeats"`
	// Containment holds the automatic containment policies and their kill switch.
	Containment containment.Config `yaml:"containment"`
	// ContainmentHooks are called (signed JSON) on every apply and lift of a containment.
	ContainmentHooks []containhook.Config `yaml:"containment_hooks"`
	// Prometheus, when set, is queried for evidence when an incident opens.
	Prometheus *Prometheus `yaml:"prometheus"`

	directory   *oncall.Directory     // compiled OnCall
	containment *containment.Compiled // compiled Containment
	response    *escalation.Config    // compiled routing, policies and channels
}

// Directory returns the compiled on-call configuration (teams, schedules, business hours).
func (c *Config) Directory() *oncall.Directory {
	if c.directory == nil {
		d, _ := oncall.Compile(oncall.Config{}, nil)
		return d
	}
	return c.directory
}

// Containments returns the compiled automatic containment policies.
func (c *Config) Containments() *containment.Compiled {
	if c.containment == nil {
		cc, _ := containment.Compile(containment.Config{})
		return cc
	}
	return c.containment
}

// Changes configures the change log.
type Changes struct {
	// Window is how far before an incident's detection a change counts as related.
	Window model.Duration `yaml:"window"`
}

// Incidents is how alerts become incidents.
type Incidents struct {
	GroupBy      []string       `yaml:"group_by"`
	AutoResolve  bool           `yaml:"auto_resolve"`
	ReopenWindow model.Duration `yaml:"reopen_window"`
}

// Webhook holds the credentials Alertmanager must present. With none configured the
// webhook is open (incidentd logs a warning).
type Webhook struct {
	MaxBodyBytes      int64             `yaml:"max_body_bytes"`
	BearerTokenSHA256 []string          `yaml:"bearer_token_sha256"`
	BasicAuthUsers    map[string]string `yaml:"basic_auth_users"` // user → sha256 of the password
}

// API lists the tokens allowed to use the REST API.
type API struct {
	Tokens     []Token `yaml:"tokens"`
	TokensFile string  `yaml:"tokens_file"`
}

// Token is one API token, stored as its SHA-256.
type Token struct {
	Subject     string `yaml:"subject"`
	Role        string `yaml:"role"`
	TokenSHA256 string `yaml:"token_sha256"`
	// Delegate lets the holder act for a user named in the X-Grafana-User header (the
	// Grafana plugin's service token).
	Delegate bool `yaml:"delegate"`
}

// Default returns the configuration used without a file.
func Default() Config {
	sla := map[incident.Tier]model.Duration{}
	for t, d := range incident.DefaultSLA() {
		sla[t] = model.Duration(d)
	}
	return Config{
		Incidents:     Incidents{AutoResolve: true, ReopenWindow: model.Duration(30 * time.Minute)},
		SLA:           sla,
		Webhook:       Webhook{MaxBodyBytes: 4 << 20},
		Changes:       Changes{Window: model.Duration(store.DefaultChangeWindow)},
		Notifications: Notifications{MaxAge: model.Duration(time.Hour)},
	}
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// UnmarshalYAML fills defaults, decodes, and validates.
func (c *Config) UnmarshalYAML(n *yaml.Node) error {
	*c = Default()
	type plain Config
	if err := n.Decode((*plain)(c)); err != nil {
		return err
	}
	return withLine(n, c.validate(n))
}

func (c *Config) validate(n *yaml.Node) error {
	for i, l := range c.Incidents.GroupBy {
		if !model.LegacyValidation.IsValidLabelName(l) {
			return fmt.Errorf("incidents.group_by[%d]: %q is not a valid label name", i, l)
		}
	}
	if c.Incidents.ReopenWindow < 0 {
		return errors.New("incidents.reopen_window: must not be negative")
	}
	for t, d := range c.SLA {
		if _, err := incident.ParseTier(string(t)); err != nil || t == "" {
			return fmt.Errorf("sla.%s: unknown tier, expected P1, P2, P3 or P4", t)
		}
		if d < 0 {
			return fmt.Errorf("sla.%s: must not be negative", t)
		}
	}
	var section *yaml.Node
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "oncall" {
			section = n.Content[i+1]
		}
	}
	d, err := oncall.Compile(c.OnCall, section)
	if err != nil {
		return err
	}
	c.directory = d
	if c.response, err = c.compileResponse(); err != nil {
		return err
	}
	seenHB := map[string]bool{}
	for i, h := range c.Heartbeats {
		if err := h.Validate(); err != nil {
			return fmt.Errorf("heartbeats[%d].%w", i, err)
		}
		if seenHB[h.Alertname] {
			return fmt.Errorf("heartbeats[%d].alertname: %q is listed twice", i, h.Alertname)
		}
		seenHB[h.Alertname] = true
	}
	if c.containment, err = containment.Compile(c.Containment); err != nil {
		return err
	}
	if err := containhook.Validate(c.ContainmentHooks); err != nil {
		return err
	}
	if c.Prometheus != nil {
		if err := c.Prometheus.validate(); err != nil {
			return err
		}
	}
	if c.Changes.Window <= 0 {
		return errors.New("changes.window: must be positive, e.g. 24h")
	}
	if c.Webhook.MaxBodyBytes <= 0 || c.Webhook.MaxBodyBytes > 256<<20 {
		return fmt.Errorf("webhook.max_body_bytes: %d, expected 1 to %d", c.Webhook.MaxBodyBytes, 256<<20)
	}
	for i, h := range c.Webhook.BearerTokenSHA256 {
		if err := checkDigest(h, "token"); err != nil {
			return fmt.Errorf("webhook.bearer_token_sha256[%d]: %w", i, err)
		}
	}
	for u, h := range c.Webhook.BasicAuthUsers {
		if err := checkDigest(h, "password"); err != nil {
			return fmt.Errorf("webhook.basic_auth_users.%s: %w", u, err)
		}
	}
	seen := map[string]bool{}
	for i, t := range c.API.Tokens {
		if strings.TrimSpace(t.Subject) == "" {
			return fmt.Errorf("api.tokens[%d].subject: required", i)
		}
		if _, err := auth.ParseRole(t.Role); err != nil {
			return fmt.Errorf("api.tokens[%d].role: %w", i, err)
		}
		if err := checkDigest(t.TokenSHA256, "token"); err != nil {
			return fmt.Errorf("api.tokens[%d].token_sha256: %w", i, err)
		}
		if seen[t.TokenSHA256] {
			return fmt.Errorf("api.tokens[%d].token_sha256: the same token is listed twice", i)
		}
		seen[t.TokenSHA256] = true
	}
	return nil
}

// checkDigest checks a configured SHA-256 of a secret. The digest of the empty string is
// refused: it is what `printf %s "$TOKEN" | sha256sum` prints when $TOKEN is unset, and it
// would admit a request carrying no secret at all.
func checkDigest(h, what string) error {
	if !sha256Hex.MatchString(h) {
		return fmt.Errorf("expected 64 lowercase hex digits (sha256sum of the %s)", what)
	}
	if h == auth.EmptyHashHex {
		return fmt.Errorf("this is the SHA-256 of the empty string (was the %s variable unset?); expected the digest of a real %s", what, what)
	}
	return nil
}

// Load reads and checks a file. Relative tokens_file paths are relative to the file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.API.TokensFile != "" && !filepath.IsAbs(c.API.TokensFile) {
		c.API.TokensFile = filepath.Join(filepath.Dir(path), c.API.TokensFile)
	}
	if c.Prometheus != nil {
		if err := c.Prometheus.resolveFiles(filepath.Dir(path)); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return c, nil
}

// Parse decodes YAML strictly.
func Parse(b []byte) (*Config, error) {
	// yaml.v3 forgets KnownFields inside a custom UnmarshalYAML, so unknown keys are
	// checked by a first pass into the plain type, and defaults and validation by the second.
	type plain Config
	var strict plain
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&strict); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	c := Default()
	// An empty file is the defaults.
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Store returns the incident policy for the store.
func (c *Config) Store() store.Config {
	sla := incident.SLA{}
	for t, d := range c.SLA {
		sla[t] = time.Duration(d)
	}
	return store.Config{GroupBy: c.Incidents.GroupBy, AutoResolve: c.Incidents.AutoResolve,
		ReopenWindow: time.Duration(c.Incidents.ReopenWindow), SLA: sla, ChangeWindow: time.Duration(c.Changes.Window),
		ContainmentHooks: containhook.Targets(c.ContainmentHooks)}
}

// Authenticator builds the token checker, reading tokens_file if set. The file holds one
// token per line: `subject role token [delegate]`; blank lines and # comments are skipped.
func (c *Config) Authenticator() (*auth.Authenticator, error) {
	var toks []auth.Token
	for _, t := range c.API.Tokens {
		r, _ := auth.ParseRole(t.Role)
		h, _ := hex.DecodeString(t.TokenSHA256)
		toks = append(toks, auth.Token{Subject: t.Subject, Role: r, SHA256: [32]byte(h), Delegate: t.Delegate})
	}
	if c.API.TokensFile != "" {
		ft, err := readTokensFile(c.API.TokensFile)
		if err != nil {
			return nil, err
		}
		toks = append(toks, ft...)
	}
	var bearer [][32]byte
	for _, h := range c.Webhook.BearerTokenSHA256 {
		b, _ := hex.DecodeString(h)
		bearer = append(bearer, [32]byte(b))
	}
	basic := map[string][32]byte{}
	for u, h := range c.Webhook.BasicAuthUsers {
		b, _ := hex.DecodeString(h)
		basic[u] = [32]byte(b)
	}
	return auth.New(toks, bearer, basic)
}

func readTokensFile(path string) ([]auth.Token, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("api.tokens_file: %w", err)
	}
	defer f.Close()
	var out []auth.Token
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		fs := strings.Fields(s)
		if len(fs) < 3 || len(fs) > 4 || (len(fs) == 4 && fs[3] != "delegate") {
			return nil, fmt.Errorf("%s:%d: expected `subject role token [delegate]`", path, line)
		}
		r, err := auth.ParseRole(fs[1])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if !auth.ValidToken(fs[2]) {
			return nil, fmt.Errorf("%s:%d: the token holds invisible or control characters", path, line)
		}
		out = append(out, auth.Token{Subject: fs[0], Role: r, SHA256: auth.Hash(fs[2]), Delegate: len(fs) == 4})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
