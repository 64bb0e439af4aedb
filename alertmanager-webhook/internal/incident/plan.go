package incident

import (
	"cmp"
	"encoding/json"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/audit"
)

// SystemActor is the actor of changes incidentd makes itself.
const SystemActor = "system"

// NewIncident stands for the ID of the incident a plan opens, until the store inserts it.
const NewIncident int64 = -1

// Policy is the configuration the ingest rules depend on.
type Policy struct {
	// AutoResolve resolves an incident when all its alerts resolved; otherwise the incident
	// waits for a human and the timeline says the alerts are gone.
	AutoResolve bool
	// ReopenWindow: an alert of the group firing again within this time after the incident
	// was resolved reopens it instead of opening a new one.
	ReopenWindow time.Duration
}

// Record is the part of a stored incident that the lifecycle rules read and change.
type Record struct {
	ID int64
	// State is the lifecycle step the incident is at.
	State State
	// Tier is the tier in force; AlertTier the most urgent of its alerts'. They differ once
	// a human overrode the tier, and an alert then no longer changes Tier.
	Tier      Tier
	AlertTier Tier
	// The times each state was reached; zero when it was not (or was skipped).
	DetectedAt      time.Time
	TriagedAt       time.Time
	ContainedAt     time.Time
	InvestigatingAt time.Time
	ResolvedAt      time.Time
	ReviewedAt      time.Time
	ResolvedBy      string
	ReopenCount     int
	AlertsFiring    int
	AlertsTotal     int
	UpdatedAt       time.Time
}

// LatestStep is the latest time a state was reached, the floor for the next step's time so
// that steps stay in order even if a clock steps back.
func (r *Record) LatestStep() time.Time {
	var t time.Time
	for _, s := range []time.Time{r.DetectedAt, r.TriagedAt, r.ContainedAt, r.InvestigatingAt, r.ResolvedAt, r.ReviewedAt} {
		if s.After(t) {
			t = s
		}
	}
	return t
}

// Opening is an incident a notification opens.
type Opening struct {
	// Record holds its state, tier, detection time and alert counts; its ID is NewIncident.
	Record
	GroupKey   string
	Title      string
	Summary    string
	RunbookURL string
	Team       string
	Model      string
	// Labels are the group's labels (a copy).
	Labels    map[string]string
	CreatedAt time.Time
}

// Occurrence identifies one firing of an alert: it fires again with a new StartsAt.
type Occurrence struct {
	Fingerprint string
	StartsAt    int64 // Unix nanoseconds, the form a store keys it by
}

// occurrenceOf returns the occurrence a transition belongs to.
func occurrenceOf(a *Alert) Occurrence {
	return Occurrence{a.Fingerprint, unixNano(a.StartsAt)}
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// StoredAlert is what the store holds of an occurrence.
type StoredAlert struct {
	ID         int64
	IncidentID int64 // 0: it belongs to no incident (an orphan resolve)
	Status     AlertStatus
	EndsAt     time.Time
}

// TimelineEntry is a step of an incident's history to record.
type TimelineEntry struct {
	IncidentID int64
	At         time.Time
	Actor      string
	Kind       string
	From, To   State
	Note       string
}

// Input is what the lifecycle rules decide one alert group's notification from.
type Input struct {
	Group Group
	// CommonAnnotations are the notification's (a new incident's title and runbook).
	CommonAnnotations map[string]string
	// Transitions are the group's alerts whose transition (status, endsAt) was not recorded
	// before: each once, in notification order. Repeats and retries bring none.
	Transitions []*Alert
	// GroupKnown: the store has met the group before (it then points to Incident).
	GroupKnown bool
	// Incident is the incident the group points to, nil when none.
	Incident *Record
	// Stored holds the stored alerts of the occurrences among Transitions.
	Stored map[Occurrence]StoredAlert
	Policy Policy
	Now    time.Time
}

// NewAlert is an occurrence to store.
type NewAlert struct {
	Alert *Alert
	// IncidentID is the incident it joins: 0 for none, NewIncident for the one the plan opens.
	IncidentID int64
	// Status and EndsAt are the occurrence's last state in the notification (it may resolve
	// within it).
	Status AlertStatus
	EndsAt time.Time
}

// AlertUpdate changes a stored occurrence.
type AlertUpdate struct {
	ID     int64
	EndsAt time.Time
	// Resolve: the occurrence was firing and resolves; otherwise it was already resolved
	// and only its end moves later.
	Resolve bool
}

// Delta is how a notification changes an incident's alert counts.
type Delta struct{ Firing, Total int }

// Plan is what a notification does to one alert group.
type Plan struct {
	// Open is the incident the notification opens, nil if none. It replaces the group's
	// incident, which was resolved longer ago than the reopen window.
	Open *Opening
	// Incident is the group's incident as the notification leaves it (reopened, its tier
	// raised, its detection moved earlier), nil when the group had none.
	Incident *Record
	// SetGroup: point the group at GroupIncident (NewIncident: the one opened; 0: none),
	// because a new incident was opened or the group was not known yet.
	SetGroup      bool
	GroupIncident int64
	// Timeline entries to add (reopened, opened) before the alerts are stored.
	Timeline []TimelineEntry
	// Insert are the occurrences new to the store; Update the stored ones that change.
	Insert []NewAlert
	Update []AlertUpdate
	// Deltas are the count changes of every incident the notification touched, each then
	// settled (see Settle). An opened incident is inserted with its counts and has a zero
	// Delta.
	Deltas map[int64]Delta
	// Orphans are resolves of occurrences never seen firing, with no open incident to join.
	Orphans int
}

// PlanGroup decides what the transitions of one alert group do:
//   - a stored occurrence that resolves (or whose end moves later) is updated; resolved is
//     final for an occurrence, so a late "firing" of a resolved one is a retry out of order;
//   - a new firing occurrence joins the group's open incident; it reopens the group's
//     resolved incident if it started within the reopen window after the resolution, and
//     opens a new incident otherwise (or when the group has none);
//   - a new resolved occurrence (fired and resolved inside group_wait, or its firing never
//     delivered) joins the group's open incident, or else is an orphan that opens nothing;
//   - an occurrence twice in one notification: resolved wins;
//   - a more urgent alert joining raises the incident's tier (the most urgent of its alerts,
//     whatever the order notifications arrive in), unless a human set the tier.
func PlanGroup(in Input) Plan {
	p := Plan{Deltas: map[int64]Delta{}}
	touch := func(id int64, firing, total int) {
		d := p.Deltas[id]
		d.Firing += firing
		d.Total += total
		p.Deltas[id] = d
	}
	var cur *Record // the incident new firing alerts join: the group's, or the one opened
	if in.Incident != nil {
		r := *in.Incident
		p.Incident, cur = &r, &r
	}
	stored := make(map[Occurrence]*StoredAlert, len(in.Stored))
	for o, s := range in.Stored {
		stored[o] = &s
	}
	updates := map[int64]int{} // stored alert ID → index in p.Update
	inserts := map[Occurrence]int{}
	openedBy := "" // the alertname of the alert that opened a new incident
	for _, a := range in.Transitions {
		occ := occurrenceOf(a)
		if i, ok := inserts[occ]; ok {
			na := &p.Insert[i]
			if a.Resolved() {
				if na.Status == AlertFiring && na.IncidentID != 0 {
					touch(na.IncidentID, -1, 0)
				}
				na.Status, na.EndsAt = AlertResolved, later(na.EndsAt, a.EndsAt)
			}
			continue
		}
		if ex, ok := stored[occ]; ok {
			if a.Resolved() && (ex.Status != AlertResolved || a.EndsAt.After(ex.EndsAt)) {
				ex.EndsAt = later(ex.EndsAt, a.EndsAt)
				i, seen := updates[ex.ID]
				if !seen {
					i = len(p.Update)
					updates[ex.ID] = i
					p.Update = append(p.Update, AlertUpdate{ID: ex.ID})
				}
				p.Update[i].EndsAt = ex.EndsAt
				firing := 0
				if ex.Status != AlertResolved {
					p.Update[i].Resolve = true
					firing = -1
				}
				ex.Status = AlertResolved
				if ex.IncidentID != 0 {
					touch(ex.IncidentID, firing, 0)
				}
			}
			continue
		}
		if a.Resolved() {
			target := int64(0)
			if cur != nil && cur.State.Open() {
				target = cur.ID
				touch(target, 0, 1)
			} else {
				p.Orphans++
			}
			inserts[occ] = len(p.Insert)
			p.Insert = append(p.Insert, NewAlert{Alert: a, IncidentID: target, Status: a.Status, EndsAt: a.EndsAt})
			continue
		}

		switch {
		case cur == nil || (!cur.State.Open() && a.StartsAt.Sub(cur.ResolvedAt) > in.Policy.ReopenWindow):
			p.Open = open(in.Group, in.CommonAnnotations, a, in.Now)
			cur = &p.Open.Record
			openedBy = a.Labels["alertname"]
		case !cur.State.Open():
			from := cur.State
			cur.State = Detected
			cur.ResolvedAt, cur.ReviewedAt, cur.ResolvedBy = time.Time{}, time.Time{}, ""
			cur.ReopenCount++
			p.Timeline = append(p.Timeline, TimelineEntry{IncidentID: cur.ID, At: in.Now, Actor: SystemActor, Kind: "reopened", From: from, To: Detected,
				Note: "alert " + a.Labels["alertname"] + " fired again within the reopen window"})
		}
		if a.StartsAt.Before(cur.DetectedAt) {
			cur.DetectedAt = a.StartsAt
		}
		if t := TierFromLabels(a.Labels); t != "" && (cur.AlertTier == "" || t < cur.AlertTier) {
			if cur.Tier == cur.AlertTier {
				cur.Tier = t
			}
			cur.AlertTier = t
		}
		inserts[occ] = len(p.Insert)
		p.Insert = append(p.Insert, NewAlert{Alert: a, IncidentID: cur.ID, Status: a.Status, EndsAt: a.EndsAt})
		touch(cur.ID, 1, 1)
	}
	if p.Open != nil {
		// Inserted with its counts, so that it is written once; it is still settled (its
		// alerts may all have resolved within the notification).
		d := p.Deltas[NewIncident]
		p.Open.AlertsFiring, p.Open.AlertsTotal = max(d.Firing, 0), d.Total
		p.Deltas[NewIncident] = Delta{}
		p.Timeline = append(p.Timeline, TimelineEntry{IncidentID: NewIncident, At: in.Now, Actor: SystemActor, Kind: "opened", To: Detected,
			Note: "alert " + openedBy + " firing"})
		p.SetGroup, p.GroupIncident = true, NewIncident
	} else if !in.GroupKnown {
		p.SetGroup = true
		if cur != nil {
			p.GroupIncident = cur.ID
		}
	}
	return p
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// open describes the incident alert a opens for group g.
func open(g Group, common map[string]string, a *Alert, now time.Time) *Opening {
	labels := make(map[string]string, len(g.Labels))
	for k, v := range g.Labels {
		labels[k] = v
	}
	pick := func(names ...string) string {
		for _, n := range names {
			if v := labels[n]; v != "" {
				return v
			}
			if v := a.Labels[n]; v != "" {
				return v
			}
		}
		return ""
	}
	title := common["summary"]
	if title == "" {
		title = a.Labels["alertname"]
		if mdl := pick("model"); mdl != "" {
			title += " on " + mdl
		}
	}
	summary := cmp.Or(a.Annotations["summary"], a.Annotations["description"])
	tier := cmp.Or(TierFromLabels(labels), TierFromLabels(a.Labels))
	return &Opening{
		Record:   Record{ID: NewIncident, State: Detected, Tier: tier, AlertTier: tier, DetectedAt: a.StartsAt, UpdatedAt: now},
		GroupKey: g.Key, Title: truncate(title, 512), Summary: truncate(summary, 4096),
		RunbookURL: truncate(cmp.Or(a.Annotations["runbook_url"], common["runbook_url"], pick("runbook_url")), 2048),
		Team:       pick("team", "owner"), Model: pick("model"), Labels: labels, CreatedAt: now,
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Settlement is an incident once a notification's count changes are applied.
type Settlement struct {
	Record   Record
	Timeline []TimelineEntry
	// Resolved: no alert fires any more and the incident resolved. It ended when its last
	// alert ended, which only the store knows: it passes that time to ResolveAt.
	Resolved bool
}

// ResolveAt sets the resolution time of a resolved settlement to when the incident's last
// alert ended, as Alertmanager reported it — never earlier than a step already recorded.
func (s *Settlement) ResolveAt(lastAlertEnd time.Time) {
	if s.Resolved && lastAlertEnd.After(s.Record.ResolvedAt) {
		s.Record.ResolvedAt = lastAlertEnd
	}
}

// Settle applies count changes to an incident: when none of its alerts fires any more, an
// open incident resolves (policy AutoResolve), or its timeline says that the alerts are gone
// and it waits for a human.
func Settle(r Record, d Delta, p Policy, now time.Time) Settlement {
	wasFiring := r.AlertsFiring
	r.AlertsFiring, r.AlertsTotal = max(r.AlertsFiring+d.Firing, 0), r.AlertsTotal+d.Total
	r.UpdatedAt = now
	s := Settlement{Record: r}
	if !r.State.Open() || r.AlertsFiring > 0 || r.AlertsTotal <= 0 {
		return s
	}
	switch {
	case p.AutoResolve:
		s.Timeline = []TimelineEntry{{IncidentID: r.ID, At: now, Actor: SystemActor, Kind: "resolved", From: r.State, To: Resolved, Note: "all alerts resolved"}}
		s.Record.ResolvedAt = r.LatestStep() // the floor; see ResolveAt
		s.Record.State, s.Record.ResolvedBy = Resolved, SystemActor
		s.Resolved = true
	case wasFiring > 0:
		s.Timeline = []TimelineEntry{{IncidentID: r.ID, At: now, Actor: SystemActor, Kind: "alerts_resolved", Note: "all alerts resolved; waiting for a human to resolve"}}
	}
	return s
}

// ingestAudit is the audit record of an ingested notification. Its fields are in
// alphabetical order, which keeps the stored JSON what encoding a map gave before.
type ingestAudit struct {
	Alerts         int         `json:"alerts"`
	Duplicates     int         `json:"duplicates"`
	ExternalURL    string      `json:"external_url"`
	GroupKey       string      `json:"group_key"`
	Incidents      []int64     `json:"incidents"`
	NewTransitions int         `json:"new_transitions"`
	Orphans        int         `json:"orphans"`
	Receiver       string      `json:"receiver"`
	Status         AlertStatus `json:"status"`
}

// IngestAudit is the audit entry of an ingested notification, and false when it changed
// nothing (a pure duplicate has nothing to audit).
func IngestAudit(n *Notification, out Outcome, now time.Time) (audit.Entry, bool) {
	if out.NewTransitions == 0 && out.Orphans == 0 {
		return audit.Entry{}, false
	}
	after, _ := json.Marshal(ingestAudit{
		GroupKey: n.GroupKey, Receiver: n.Receiver, Status: n.Status, ExternalURL: n.ExternalURL,
		Alerts: len(n.Alerts), NewTransitions: out.NewTransitions, Duplicates: out.Duplicates,
		Orphans: out.Orphans, Incidents: out.Incidents,
	})
	return audit.Entry{At: now, Actor: SystemActor, Action: "notification.ingested", Object: "group/" + n.GroupKey, After: after}, true
}
