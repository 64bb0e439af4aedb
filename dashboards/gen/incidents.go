package gen

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func incidents() *dashboard.DashboardBuilder {
	m := "$" + VarModel
	return newDashboard(UIDIncidents, "Incidents",
		"Incident response from incidentd through the OpsCentre incidents datasource: open incidents with their actions, one incident's timeline, incidents opened per day by tier, MTTA/MTTR by team, SLA breaches and recent changes.").
		WithVariable(dashboard.NewTextBoxVariableBuilder(VarIncident).
			Label("Incident").
			Description("Incident id whose timeline is shown; the incident links of the tables set it.").
			DefaultValue(dashboard.StringOrMap{String: cog.ToPtr("1")}).
			Current(dashboard.VariableOption{
				Text:  dashboard.StringOrArrayOfString{String: cog.ToPtr("1")},
				Value: dashboard.StringOrArrayOfString{String: cog.ToPtr("1")},
			})).
		WithRow(row("Now")).
		WithPanel(incidentStat("Open P1", "Open critical incidents (immediate response, 24/7).", "short",
			NewIncidentsQuery(QueryCounts).RefId("A").State("open").Tier("P1").Model(m)).
			Thresholds(thresholds("green", step{1, "red"}))).
		WithPanel(incidentStat("Open P2", "Open high-tier incidents (response within 1 hour in business hours).", "short",
			NewIncidentsQuery(QueryCounts).RefId("A").State("open").Tier("P2").Model(m)).
			Thresholds(thresholds("green", step{1, "orange"}))).
		WithPanel(incidentStat("Open P3", "Open medium-tier incidents (response within 24 hours).", "short",
			NewIncidentsQuery(QueryCounts).RefId("A").State("open").Tier("P3").Model(m)).
			Thresholds(thresholds("green", step{1, "yellow"}))).
		WithPanel(incidentStat("Open P4", "Open low-tier incidents (next sprint).", "short",
			NewIncidentsQuery(QueryCounts).RefId("A").State("open").Tier("P4").Model(m)).
			Thresholds(thresholds("green", step{1, "blue"}))).
		WithPanel(incidentTable("Open incidents", "Every incident not yet resolved for the selected models: tier, state, containment, team, age and title. Newest first. The id opens the incident's timeline below; the row's actions acknowledge, investigate, assign or resolve it, contain its model (fallback or disable) or lift its containments, as you.", "short",
			NewIncidentsQuery(QueryIncidents).RefId("A").State("open").Model(m)).
			Actions(incidentActions())).
		WithPanel(incidentTable("Timeline of incident $"+VarIncident, "State changes, alerts, containments applied and lifted, notes and related changes of the incident chosen with the Incident variable or an incident link.", "short",
			NewIncidentsQuery(QueryTimeline).RefId("A").IncidentId("$"+VarIncident))).
		WithRow(row("Trends")).
		WithPanel(incidentTimeSeries("Incidents opened per day by tier", "Incidents opened per day, split by tier.", "short",
			NewIncidentsQuery(QueryCounts).RefId("A").Interval("1d").SplitBy("tier").Model(m)).
			DrawStyle(common.GraphDrawStyleBars).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))).
		WithPanel(incidentStat("SLA breaches by tier", "Incidents detected in the time range whose response exceeded their tier's response time, per tier.", "short",
			NewIncidentsQuery(QueryStats).RefId("A").Stat("sla_breaches").GroupBy("tier").Model(m))).
		WithPanel(incidentStat("MTTA by team", "Mean time from detection to acknowledgement (triage) of incidents detected in the time range, per team.", "s",
			NewIncidentsQuery(QueryStats).RefId("A").Stat("mtta").GroupBy("team").Model(m))).
		WithPanel(incidentStat("MTTR by team", "Mean time from detection to resolution of incidents detected in the time range, per team.", "s",
			NewIncidentsQuery(QueryStats).RefId("A").Stat("mttr").GroupBy("team").Model(m))).
		WithRow(row("History")).
		WithPanel(incidentTable("Recent changes", "Deployments, model version changes and configuration changes recorded by incidentd, which annotate every OpsCentre dashboard.", "short",
			NewIncidentsQuery(QueryAnnotations).RefId("A").IncludeChanges().Model(m))).
		WithPanel(incidentTable("Resolved incidents", "Incidents resolved or reviewed in the selected time range, with their time to resolve.", "short",
			NewIncidentsQuery(QueryIncidents).RefId("A").State("resolved").Model(m))).
		WithRow(row("Investigate")).
		WithPanel(incidentTable("Evidence of incident $"+VarIncident, "What incidentd found in Prometheus when the incident opened: each common root cause (inputs changed, version mismatch, external API, adversarial inputs, capacity) as supported, not supported or unknown, with the numbers now and before and the panel that shows them. The panel's notices name failed queries and the most similar past incident.", "short",
			NewIncidentsQuery(QueryEvidence).RefId("A").IncidentId("$"+VarIncident)))
}
