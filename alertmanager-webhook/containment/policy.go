package containment

import (
	"fmt"
	"regexp"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/matchers"
)

// Config is the `containment:` section of incidentd's configuration.
type Config struct {
	// Enabled is the kill switch of automation: false applies no policy (people can still
	// apply and lift containments through the API).
	Enabled bool `yaml:"enabled"`
	// DryRun records on the incident's timeline what a policy would do, and does nothing.
	DryRun bool `yaml:"dry_run"`
	// MaxActionsPerHour caps automatic containments over the last hour, across replicas: a
	// flapping alert must not flip traffic back and forth.
	MaxActionsPerHour int            `yaml:"max_actions_per_hour"`
	Policies          []PolicyConfig `yaml:"policies"`
}

// PolicyConfig is one automatic policy as written.
type PolicyConfig struct {
	// Name identifies the policy: one incident gets at most one containment per policy.
	Name string `yaml:"name"`
	// Match lists Alertmanager matchers (`severity="P1"`, `containment=~"fallback|auto"`)
	// that the incident's labels must all satisfy.
	Match  []string `yaml:"match"`
	Action string   `yaml:"action"`
	// FallbackVersion is the version to route to; empty takes the incident's
	// fallback_version label.
	FallbackVersion string `yaml:"fallback_version"`
	// BlockInputClass is the input class a block_inputs policy refuses; empty takes the
	// incident's input_class label.
	BlockInputClass string     `yaml:"block_input_class"`
	Lift            LiftConfig `yaml:"lift"`
}

// LiftConfig says when an automatic containment ends: `after_resolve: 10m` lifts it ten
// minutes after its incident resolves, `after_resolve: manual` (the default) waits for a
// person.
type LiftConfig struct {
	AfterResolve string `yaml:"after_resolve"`
}

// DefaultMaxActionsPerHour is the cap when the configuration gives none.
const DefaultMaxActionsPerHour = 10

// Policy is a compiled policy.
type Policy struct {
	Name            string
	Matchers        labels.Matchers
	Action          Action
	FallbackVersion string
	BlockInputClass string
	// Manual: lifted only by a person; otherwise LiftAfter after the incident resolves.
	Manual    bool
	LiftAfter time.Duration
}

// Compiled is a validated Config.
type Compiled struct {
	Enabled           bool
	DryRun            bool
	MaxActionsPerHour int
	Policies          []Policy
}

var policyName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)

// Compile validates c; errors name the field under `containment.`.
func Compile(c Config) (*Compiled, error) {
	out := &Compiled{Enabled: c.Enabled, DryRun: c.DryRun, MaxActionsPerHour: c.MaxActionsPerHour}
	if out.MaxActionsPerHour == 0 {
		out.MaxActionsPerHour = DefaultMaxActionsPerHour
	}
	if out.MaxActionsPerHour < 0 || out.MaxActionsPerHour > 1000 {
		return nil, fmt.Errorf("containment.max_actions_per_hour: %d, expected 1 to 1000", c.MaxActionsPerHour)
	}
	seen := map[string]bool{}
	for i, pc := range c.Policies {
		at := fmt.Sprintf("containment.policies[%d]", i)
		if !policyName.MatchString(pc.Name) {
			return nil, fmt.Errorf("%s.name: %q, expected 1 to 64 letters, digits, '_', '.' or '-'", at, pc.Name)
		}
		if seen[pc.Name] {
			return nil, fmt.Errorf("%s.name: %q is defined twice", at, pc.Name)
		}
		seen[pc.Name] = true
		p := Policy{Name: pc.Name, FallbackVersion: pc.FallbackVersion, BlockInputClass: pc.BlockInputClass}
		if len(pc.Match) == 0 {
			return nil, fmt.Errorf("%s.match: at least one matcher; a policy without one would contain every incident", at)
		}
		ms, err := matchers.Parse(at+".match", pc.Match)
		if err != nil {
			return nil, err
		}
		p.Matchers = ms
		if matchers.MatchesAll(p.Matchers) {
			return nil, fmt.Errorf("%s.match: %s matches every incident; name what the policy is for", at, p.Matchers)
		}
		a, err := ParseAction(pc.Action)
		if err != nil {
			return nil, fmt.Errorf("%s.action: %w", at, err)
		}
		p.Action = a
		if pc.FallbackVersion != "" && a != Fallback {
			return nil, fmt.Errorf("%s.fallback_version: only with action fallback", at)
		}
		if pc.BlockInputClass != "" && a != BlockInputs {
			return nil, fmt.Errorf("%s.block_input_class: only with action block_inputs", at)
		}
		if pc.BlockInputClass != "" {
			if err := CheckMatch(&Match{InputClass: pc.BlockInputClass}); err != nil {
				return nil, fmt.Errorf("%s.block_input_class: %w", at, err)
			}
		}
		switch v := pc.Lift.AfterResolve; v {
		case "", "manual":
			p.Manual = true
		default:
			d, err := model.ParseDuration(v)
			if err != nil || time.Duration(d) > MaxDuration {
				return nil, fmt.Errorf("%s.lift.after_resolve: %q, expected manual or a duration up to 30d like 10m", at, v)
			}
			p.LiftAfter = time.Duration(d)
		}
		out.Policies = append(out.Policies, p)
	}
	return out, nil
}

// Incident is what a policy looks at.
type Incident struct {
	ID     int64
	Model  string
	Labels map[string]string
}

// Planned is the outcome of one policy for one incident: a containment to apply, or why
// the policy matched but cannot apply one.
type Planned struct {
	Policy      string
	Containment Containment
	Skip        string
}

// Plan returns, for each policy matching the incident's labels, the containment it
// applies: on the incident's model, its version label (every version without one),
// lifted as the policy says.
func (c *Compiled) Plan(inc Incident) []Planned {
	if c == nil {
		return nil
	}
	ls := model.LabelSet{}
	for k, v := range inc.Labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	var out []Planned
	for _, p := range c.Policies {
		if !p.Matchers.Matches(ls) {
			continue
		}
		pl := Planned{Policy: p.Name}
		mdl := inc.Model
		if mdl == "" {
			mdl = inc.Labels["model"]
		}
		req := Request{Model: mdl, Version: inc.Labels["version"], Action: string(p.Action), Incident: inc.ID,
			Reason: fmt.Sprintf("policy %s matched incident %d (%s)", p.Name, inc.ID, p.Matchers)}
		switch p.Action {
		case Fallback:
			req.FallbackVersion = p.FallbackVersion
			if req.FallbackVersion == "" {
				req.FallbackVersion = inc.Labels["fallback_version"]
			}
		case BlockInputs:
			class := p.BlockInputClass
			if class == "" {
				class = inc.Labels["input_class"]
			}
			req.Match = &Match{InputClass: class}
		}
		if p.Manual {
			req.UntilLifted = true
		} else {
			req.UntilResolved, req.LiftAfter = true, p.LiftAfter.String()
		}
		ct, err := req.Validate(time.Time{})
		if err != nil {
			pl.Skip = "cannot apply: " + err.Error()
		}
		pl.Containment = ct
		out = append(out, pl)
	}
	return out
}

// Allow is the hourly cap of automation: another automatic containment may be applied
// when fewer than max were applied in the last hour.
func Allow(appliedLastHour, max int) bool { return appliedLastHour < max }
