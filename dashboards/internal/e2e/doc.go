// Package e2e holds the dashboards' end-to-end test: every query of every
// panel runs on a real Prometheus scraping an exporter, and must return data.
package e2e
