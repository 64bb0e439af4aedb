// Package routing decides, for a new incident, which team and escalation policy own it and
// what the tier policy allows now — enforced here rather than with Alertmanager mute
// intervals, which silently drop alerts that fire and resolve inside a muted period:
//
//   - P1 pages at once, at any hour;
//   - P2 pages at once in the team's business hours, otherwise it is held until business
//     hours start (unless the route says to page outside hours);
//   - P3 goes to the team's queue channel (24 h target), no page;
//   - P4 goes to the backlog channel (next sprint), never a page.
//
// An incident without a tier is treated as P2: paging nobody for it would be the worse
// mistake at night, and paging at night for it the worse one by day.
package routing

import (
	"fmt"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/incident"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/matchers"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/oncall"
)

// Config is the `routing:` section.
type Config struct {
	Routes  []Route `yaml:"routes"`
	Default Route   `yaml:"default"`
	// BacklogChannel receives P4 incidents.
	BacklogChannel string `yaml:"backlog_channel"`
}

// Route sends incidents whose labels match to a team and an escalation policy. All of
// Matchers, Match and MatchRE must hold; a route with none matches every incident. The
// first matching route wins.
type Route struct {
	// Matchers are Alertmanager matchers, as in an Alertmanager route:
	// `severity=~"P1|P2"`, `team!="payments"`.
	Matchers []string `yaml:"matchers"`
	// Match (label equality) and MatchRE (anchored regular expressions) are the map forms
	// Alertmanager also still reads; both become matchers.
	Match            map[string]string `yaml:"match"`
	MatchRE          map[string]string `yaml:"match_re"`
	Team             string            `yaml:"team"`
	EscalationPolicy string            `yaml:"escalation_policy"`
	// QueueChannel receives the team's P3 incidents.
	QueueChannel string `yaml:"queue_channel"`
	// PageOutsideHours pages P2 incidents at night too.
	PageOutsideHours bool `yaml:"page_outside_hours"`

	ms labels.Matchers
}

// Action is what the tier policy allows.
type Action string

// Actions.
const (
	Page    Action = "page"
	Hold    Action = "hold" // page when business hours start
	Queue   Action = "queue"
	Backlog Action = "backlog"
)

// Decision is the routing of one incident.
type Decision struct {
	Team    string
	Policy  string
	Action  Action
	Due     time.Time // when paging starts (Page: now; Hold: next business hours)
	Channel string    // Queue and Backlog: where the message goes
	Reason  string
}

// Compile checks the configuration against the known policies and channels.
func (c *Config) Compile(policies, channels map[string]bool, dir *oncall.Directory) error {
	check := func(path string, r *Route) error {
		eq, err := matchers.FromMap(path+".match", labels.MatchEqual, r.Match)
		if err != nil {
			return err
		}
		re, err := matchers.FromMap(path+".match_re", labels.MatchRegexp, r.MatchRE)
		if err != nil {
			return err
		}
		ms, err := matchers.Parse(path+".matchers", r.Matchers)
		if err != nil {
			return err
		}
		r.ms = append(append(eq, re...), ms...)
		if r.EscalationPolicy != "" && !policies[r.EscalationPolicy] {
			return fmt.Errorf("%s.escalation_policy: no policy %q under escalation_policies", path, r.EscalationPolicy)
		}
		if r.QueueChannel != "" && !channels[r.QueueChannel] {
			return fmt.Errorf("%s.queue_channel: no channel %q under channels", path, r.QueueChannel)
		}
		if r.Team != "" {
			if _, ok := dir.Team(r.Team); !ok {
				return fmt.Errorf("%s.team: no team %q under oncall.teams", path, r.Team)
			}
		}
		return nil
	}
	for i := range c.Routes {
		if err := check(fmt.Sprintf("routing.routes[%d]", i), &c.Routes[i]); err != nil {
			return err
		}
	}
	if err := check("routing.default", &c.Default); err != nil {
		return err
	}
	if c.BacklogChannel != "" && !channels[c.BacklogChannel] {
		return fmt.Errorf("routing.backlog_channel: no channel %q under channels", c.BacklogChannel)
	}
	return nil
}

// Route picks the route for labels (the default when none matches). The incident's own
// team fills in a route without one.
func (c *Config) Route(labels map[string]string) Route {
	r := c.Default
	for _, rt := range c.Routes {
		if matchers.Matches(rt.ms, labels) {
			r = rt
			break
		}
	}
	if r.Team == "" {
		r.Team = labels["team"]
	}
	return r
}

// Decide applies the tier policy to an incident with labels and tier detected now.
func (c *Config) Decide(labels map[string]string, tier incident.Tier, now time.Time, dir *oncall.Directory) Decision {
	r := c.Route(labels)
	d := Decision{Team: r.Team, Policy: r.EscalationPolicy, Due: now}
	var hours oncall.BusinessHours
	if t, ok := dir.Team(r.Team); ok {
		hours = t.Hours
	}
	switch tier {
	case incident.P1:
		d.Action, d.Reason = Page, "P1 pages at any hour"
	case incident.P3:
		d.Action, d.Channel, d.Reason = Queue, r.QueueChannel, "P3 goes to the team's queue (24 h target), no page"
	case incident.P4:
		d.Action, d.Channel, d.Reason = Backlog, c.BacklogChannel, "P4 goes to the backlog (next sprint), never paged"
	default: // P2 and unknown
		switch {
		case hours.Open(now):
			d.Action, d.Reason = Page, "P2 in business hours pages at once"
		case r.PageOutsideHours:
			d.Action, d.Reason = Page, "P2 outside business hours; the route pages anyway"
		default:
			d.Action, d.Due = Hold, hours.NextOpen(now)
			d.Reason = fmt.Sprintf("P2 outside business hours; held until %s", d.Due.In(hours.Loc).Format("Mon 2006-01-02 15:04 MST"))
		}
	}
	return d
}
