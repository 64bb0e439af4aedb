package incident

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// AlertStatus is an alert's status as Alertmanager reports it.
type AlertStatus string

// The two statuses of an alert.
const (
	AlertFiring   AlertStatus = "firing"
	AlertResolved AlertStatus = "resolved"
)

// Alert is one alert of a notification, in incidentd's terms: the webhook converts
// Alertmanager's wire format into it, and the store keeps it.
type Alert struct {
	Fingerprint string
	Status      AlertStatus
	// StartsAt and EndsAt identify a transition; EndsAt is zero while the alert fires.
	StartsAt, EndsAt time.Time
	Labels           map[string]string
	Annotations      map[string]string
	GeneratorURL     string
}

// Resolved reports whether the alert has ended.
func (a *Alert) Resolved() bool { return a.Status == AlertResolved }

// Notification is one delivery of an alert group: the state of every alert in it.
type Notification struct {
	GroupKey          string
	Receiver          string
	Status            AlertStatus
	ExternalURL       string
	CommonLabels      map[string]string
	CommonAnnotations map[string]string
	Alerts            []Alert
}

// Outcome is what ingesting one notification changed.
type Outcome struct {
	Incidents      []int64 `json:"incidents"`       // incidents the notification's alerts belong to
	NewTransitions int     `json:"new_transitions"` // alert state changes seen for the first time
	Duplicates     int     `json:"duplicates"`      // alert states already recorded
	Orphans        int     `json:"orphans"`         // resolves for alerts never seen firing
}

// Group is the part of a notification that belongs to one incident group.
type Group struct {
	// Key names the group: Alertmanager's groupKey, or the values of the grouping labels.
	Key string
	// Labels are the labels the group's alerts share (a new incident's labels).
	Labels map[string]string
	// Alerts point into the notification, in its order.
	Alerts []*Alert
}

// Groups splits a notification into incident groups: one for Alertmanager's groupKey when
// groupBy is empty, else one per distinct value set of the groupBy labels, ordered by key
// (the order a store locks groups in, so that concurrent writers cannot deadlock).
func Groups(n *Notification, groupBy []string) []Group {
	if len(groupBy) == 0 {
		g := Group{Key: n.GroupKey, Labels: n.CommonLabels, Alerts: make([]*Alert, 0, len(n.Alerts))}
		for i := range n.Alerts {
			g.Alerts = append(g.Alerts, &n.Alerts[i])
		}
		return []Group{g}
	}
	byKey := map[string]*Group{}
	for i := range n.Alerts {
		a := &n.Alerts[i]
		ls := make(map[string]string, len(groupBy))
		var b strings.Builder
		b.WriteString("labels:{")
		for j, name := range groupBy {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s=%q", name, a.Labels[name])
			if v := a.Labels[name]; v != "" {
				ls[name] = v
			}
		}
		b.WriteString("}")
		k := b.String()
		g := byKey[k]
		if g == nil {
			g = &Group{Key: k, Labels: ls}
			byKey[k] = g
		}
		g.Alerts = append(g.Alerts, a)
	}
	out := make([]Group, 0, len(byKey))
	for _, g := range byKey {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
