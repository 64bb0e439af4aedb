package gen

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func businessOutcomes() *dashboard.DashboardBuilder {
	outcomeShare := func(outcome string) string {
		return sumRate("model", "aiops_task_outcomes_total", `outcome="`+outcome+`"`) + " / " + sumRate("model", "aiops_task_outcomes_total")
	}
	return newDashboard(UIDBusiness, "Business outcomes",
		"Pillar 4: are the models still delivering the business result? Task completion and escalation, business events and their value (conversions, handle time…), cost per processed transaction, and user feedback.").
		WithRow(row("Tasks")).
		WithPanel(timeSeries("Task completion rate", "Share of tasks that completed, per model.", "percentunit",
			pq("A", exprCompletion(), "{{model}}")).Min(0).Max(1).Span(8)).
		WithPanel(timeSeries("Escalation rate", "Share of tasks handed over to a human, per model.", "percentunit",
			pq("A", outcomeShare("escalated"), "{{model}}")).Min(0).Max(1).Span(8)).
		WithPanel(timeSeries("Task outcomes", "Share of each outcome (completed, failed, escalated, abandoned), per model.", "percentunit",
			pq("A", sumRate("model, outcome", "aiops_task_outcomes_total")+" / ignoring (outcome) group_left () "+sumRate("model", "aiops_task_outcomes_total"), "{{model}} {{outcome}}")).
			Span(8).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))).
		WithRow(row("Agents and answers (OpenTelemetry)")).
		WithPanel(timeSeries("Tool error rate", "Share of an agent's tool calls that failed, per agent (model) and tool, from execute_tool spans over OTLP.", "percentunit",
			pq("A", sumRate("model, tool", "aiops_agent_tool_errors_total")+" / "+sumRate("model, tool", "aiops_agent_tool_calls_total"), "{{model}} {{tool}}")).Min(0).Span(6)).
		WithPanel(timeSeries("Steps per task", "LLM and tool calls per agent task (median and 95th percentile), from invoke_agent spans over OTLP.", "short",
			pq("A", quantile("0.5", "model", "aiops_agent_task_steps"), "{{model}} p50"),
			pq("B", quantile("0.95", "model", "aiops_agent_task_steps"), "{{model}} p95")).Span(6)).
		WithPanel(timeSeries("Finish reasons", "Share of LLM answers per finish reason (a rise of length or content_filter means cut-off or filtered answers), from gen_ai.response.finish_reasons.", "percentunit",
			pq("A", sumRate("model, reason", "aiops_llm_finish_reasons_total")+" / ignoring (reason) group_left () "+sumRate("model", "aiops_llm_finish_reasons_total"), "{{model}} {{reason}}")).
			Span(6).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))).
		WithPanel(timeSeries("Evaluation score", "Mean score of each evaluation (gen_ai.evaluation.result over OTLP), per model.", "short",
			pq("A", sumRate("model, evaluation", "aiops_evaluation_score_sum")+" / "+sumRate("model, evaluation", "aiops_evaluation_score_count"), "{{model}} {{evaluation}}")).Span(6)).
		WithRow(row("Business events")).
		WithPanel(timeSeries("Business events per second", "Business events the application reports (conversions, orders, tickets closed…) per second, by name.", "ops",
			pq("A", sumRate("model, name", "aiops_business_events_total"), "{{model}} {{name}}"))).
		WithPanel(timeSeries("Value per business event", "Mean value carried by each business event (e.g. handle time in seconds, order value), by name: value rate / event rate.", "short",
			pq("A", sumRate("model, name", "aiops_business_value_total")+" / "+sumRate("model, name", "aiops_business_events_total"), "{{model}} {{name}}"))).
		WithPanel(timeSeries("Business events per inference", "Business events per accepted inference (a conversion rate when the event is a conversion), by name.", "percentunit",
			pq("A", sumRate("model, name", "aiops_business_events_total")+" / ignoring (name) group_left () "+sumRate("model", "aiops_events_total"), "{{model}} {{name}}"))).
		WithPanel(timeSeries("Cost per processed transaction", "Inference spend divided by accepted events, per model and currency.", "short",
			pq("A", sumRate("model, currency", "aiops_cost_total")+" / ignoring (currency) group_left () "+sumRate("model", "aiops_events_total"), "{{model}} {{currency}}"))).
		WithRow(row("Feedback")).
		WithPanel(timeSeries("Feedback by rating", "Share of user feedback per rating (positive/negative or 1…5), per model.", "percentunit",
			pq("A", sumRate("model, rating", "aiops_feedback_total")+" / ignoring (rating) group_left () "+sumRate("model", "aiops_feedback_total"), "{{model}} {{rating}}")).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))).
		WithPanel(timeSeries("Positive feedback share", "Share of thumbs-up (rating=\"positive\") among thumbs-up and thumbs-down feedback, per model.", "percentunit",
			pq("A", sumRate("model", "aiops_feedback_total", `rating="positive"`)+" / "+sumRate("model", "aiops_feedback_total", `rating=~"positive|negative"`), "{{model}}")).
			Min(0).Max(1))
}
