package output

import (
	"fmt"
	"sort"
	"strings"

	amconfig "github.com/prometheus/alertmanager/config"

	"github.com/opscentre/opscentre/rulegen/spec"
)

type routeYAML struct {
	Receiver            string      `yaml:"receiver"`
	GroupBy             []string    `yaml:"group_by,omitempty"`
	Matchers            []string    `yaml:"matchers,omitempty"`
	GroupWait           string      `yaml:"group_wait,omitempty"`
	GroupInterval       string      `yaml:"group_interval,omitempty"`
	RepeatInterval      string      `yaml:"repeat_interval,omitempty"`
	ActiveTimeIntervals []string    `yaml:"active_time_intervals,omitempty"`
	Continue            bool        `yaml:"continue,omitempty"`
	Routes              []routeYAML `yaml:"routes,omitempty"`
}

type inhibitYAML struct {
	SourceMatchers []string `yaml:"source_matchers"`
	TargetMatchers []string `yaml:"target_matchers"`
	Equal          []string `yaml:"equal"`
}

type timeRangeYAML struct {
	StartTime string `yaml:"start_time"`
	EndTime   string `yaml:"end_time"`
}

type timeIntervalYAML struct {
	Weekdays []string        `yaml:"weekdays,omitempty"`
	Times    []timeRangeYAML `yaml:"times,omitempty"`
	Location string          `yaml:"location,omitempty"`
}

type namedIntervalYAML struct {
	Name          string             `yaml:"name"`
	TimeIntervals []timeIntervalYAML `yaml:"time_intervals"`
}

type webhookYAML struct {
	URL          string `yaml:"url"`
	SendResolved bool   `yaml:"send_resolved"`
}

type receiverYAML struct {
	Name           string        `yaml:"name"`
	WebhookConfigs []webhookYAML `yaml:"webhook_configs"`
}

type amYAML struct {
	Route         routeYAML           `yaml:"route"`
	InhibitRules  []inhibitYAML       `yaml:"inhibit_rules,omitempty"`
	TimeIntervals []namedIntervalYAML `yaml:"time_intervals,omitempty"`
	Receivers     []receiverYAML      `yaml:"receivers"`
}

// isIncidentd reports whether a receiver URL is an incidentd webhook endpoint.
func isIncidentd(url string) bool {
	u := url
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	return strings.HasSuffix(u, "/api/v1/alertmanager")
}

// BusinessHoursInterval names the time interval business-hours tiers are active in.
const BusinessHoursInterval = "business-hours"

// Alertmanager renders the routing fragment for the spec's tiers and validates it with the
// Alertmanager configuration loader.
func Alertmanager(source string, s *spec.Spec) ([]byte, error) {
	receivers := map[string]string{spec.DefaultReceiver: spec.DefaultReceiverURL}
	for _, r := range s.Receivers {
		receivers[r.Name] = r.URL
	}
	used := map[string]bool{spec.DefaultReceiver: true}
	root := routeYAML{Receiver: spec.DefaultReceiver, GroupBy: []string{"alertname", "model", "team"}}
	business := false
	for _, t := range s.Tiers {
		rs := t.Receivers
		if len(rs) == 0 {
			rs = []string{spec.DefaultReceiver}
		}
		for i, r := range rs {
			used[r] = true
			rt := routeYAML{
				Receiver:       r,
				Matchers:       []string{fmt.Sprintf("tier=%q", t.ID)},
				GroupWait:      durStr(t.GroupWait),
				GroupInterval:  durStr(t.GroupInterval),
				RepeatInterval: durStr(t.RepeatInterval),
				// Every receiver but the last lets the alert continue to the next route,
				// so a tier can notify several receivers.
				Continue: i < len(rs)-1,
			}
			if t.Hours == "business" {
				// incidentd holds a business-hours tier's page until the hours start and
				// keeps the incident either way; muting its route here would make
				// Alertmanager drop alerts that fire and resolve overnight without anyone
				// ever seeing them. Other receivers (a direct pager) are muted. The interval
				// is written only when a route uses it: an unused one reads as a mistake.
				if !isIncidentd(receivers[r]) {
					rt.ActiveTimeIntervals = []string{BusinessHoursInterval}
					business = true
				}
			}
			root.Routes = append(root.Routes, rt)
		}
	}
	cfg := amYAML{Route: root}
	for i, t := range s.Tiers {
		if i+1 >= len(s.Tiers) {
			break
		}
		var lower []string
		for _, l := range s.Tiers[i+1:] {
			lower = append(lower, l.ID)
		}
		cfg.InhibitRules = append(cfg.InhibitRules, inhibitYAML{
			SourceMatchers: []string{fmt.Sprintf("tier=%q", t.ID)},
			TargetMatchers: []string{fmt.Sprintf("tier=~%q", strings.Join(lower, "|"))},
			Equal:          []string{"model", "team"},
		})
		if t.ID == "P1" {
			// Only the most urgent tier mutes the others; lower tiers stay visible.
			break
		}
	}
	if business {
		bh := s.BusinessHours
		cfg.TimeIntervals = []namedIntervalYAML{{Name: BusinessHoursInterval, TimeIntervals: []timeIntervalYAML{{
			Weekdays: bh.Weekdays,
			Times:    []timeRangeYAML{{StartTime: bh.Start, EndTime: bh.End}},
			Location: bh.Timezone,
		}}}}
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		cfg.Receivers = append(cfg.Receivers, receiverYAML{Name: n, WebhookConfigs: []webhookYAML{{URL: receivers[n], SendResolved: true}}})
	}
	body, err := marshal(cfg)
	if err != nil {
		return nil, err
	}
	out := append([]byte(header(source)), body...)
	if _, err := amconfig.Load(string(out)); err != nil {
		return nil, fmt.Errorf("generated Alertmanager config does not load (a rulegen bug, please report): %w", err)
	}
	return out, nil
}
