package config

import (
	"fmt"
	"regexp"
	"time"

	"github.com/prometheus/common/model"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/escalation"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify/email"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify/pagerduty"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify/slack"
	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify/webhook"
)

// Channel is one notification channel: a name and exactly one of the channel blocks.
type Channel struct {
	Name      string            `yaml:"name"`
	Webhook   *webhook.Config   `yaml:"webhook"`
	Slack     *slack.Config     `yaml:"slack"`
	PagerDuty *pagerduty.Config `yaml:"pagerduty"`
	Email     *email.Config     `yaml:"email"`
}

// Notifications are settings of the escalation worker.
type Notifications struct {
	// IncidentURL links messages to an incident; %d is replaced by its id.
	IncidentURL string `yaml:"incident_url"`
	// MaxAge: incidents older than this when the worker first sees them are not paged.
	MaxAge model.Duration `yaml:"max_age"`
}

var channelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// compileResponse validates routing, escalation policies, people and channels and builds
// the worker's configuration.
func (c *Config) compileResponse() (*escalation.Config, error) {
	chans := map[string]notify.Notifier{}
	known := map[string]bool{}
	for i, ch := range c.Channels {
		at := fmt.Sprintf("channels[%d]", i)
		if !channelName.MatchString(ch.Name) {
			return nil, fmt.Errorf("%s.name: expected letters, digits, _ . - (at most 64), got %q", at, ch.Name)
		}
		if known[ch.Name] {
			return nil, fmt.Errorf("%s.name: channel %q is defined twice", at, ch.Name)
		}
		var n notify.Notifier
		var err error
		count := 0
		if ch.Webhook != nil {
			count++
			err, n = ch.Webhook.Validate(), webhook.New(*ch.Webhook, nil, nil)
		}
		if ch.Slack != nil {
			count++
			err, n = ch.Slack.Validate(), slack.New(*ch.Slack, nil)
		}
		if ch.PagerDuty != nil {
			count++
			err, n = ch.PagerDuty.Validate(), pagerduty.New(*ch.PagerDuty, nil)
		}
		if ch.Email != nil {
			count++
			err, n = ch.Email.Validate(), email.New(*ch.Email, nil)
		}
		if count != 1 {
			return nil, fmt.Errorf("%s: exactly one of webhook, slack, pagerduty, email", at)
		}
		if err != nil {
			return nil, fmt.Errorf("%s.%w", at, err)
		}
		chans[ch.Name], known[ch.Name] = n, true
	}
	for p, cs := range c.People {
		if len(cs) == 0 {
			return nil, fmt.Errorf("people.%s: at least one channel", p)
		}
		for i, ch := range cs {
			if !known[ch] {
				return nil, fmt.Errorf("people.%s[%d]: no channel %q under channels", p, i, ch)
			}
		}
	}
	dir := c.Directory()
	pols, err := escalation.CompilePolicies(c.EscalationPolicies, dir, c.People, known)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for n := range pols {
		names[n] = true
	}
	r := c.Routing
	if err := r.Compile(names, known, dir); err != nil {
		return nil, err
	}
	if c.Notifications.MaxAge < 0 {
		return nil, fmt.Errorf("notifications.max_age: must not be negative")
	}
	return &escalation.Config{Routing: &r, Policies: pols, People: c.People, Directory: dir, Channels: chans,
		IncidentURL: c.Notifications.IncidentURL, MaxAge: time.Duration(c.Notifications.MaxAge)}, nil
}

// Response returns the escalation worker's configuration.
func (c *Config) Response() *escalation.Config {
	if c.response == nil {
		d := Default()
		r, _ := d.compileResponse()
		return r
	}
	return c.response
}
