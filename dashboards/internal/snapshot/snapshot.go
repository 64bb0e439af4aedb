// Package snapshot renders the panels of the generated dashboards to PNG from
// a real Prometheus: Grafana cannot run everywhere (not in CI, not in a README),
// but the queries can. For each panel it evaluates the Prometheus targets over a
// time range and plots the series with gonum/plot (a panel of instant queries:
// its first query, as bars), so a reader sees what a dashboard shows — and an
// empty panel shows up as such.
package snapshot

import (
	"context"
	"fmt"
	"image/color"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/opscentre/opscentre/dashboards/gen"
	"github.com/opscentre/opscentre/dashboards/internal/lint"
	"github.com/opscentre/opscentre/dashboards/promapi"
)

// Options configures a rendering run.
type Options struct {
	// PrometheusURL is the base URL of the Prometheus HTTP API.
	PrometheusURL string
	// OutDir receives <dashboard>/<panel id>-<title>.png and index.md.
	OutDir string
	// End and Range bound the queried time range; Step is the resolution.
	End   time.Time
	Range time.Duration
	Step  time.Duration
	// RateInterval stands in for $__rate_interval; Grafana uses
	// max(4 × scrape interval, step), and so should the caller.
	RateInterval time.Duration
	// Vars are values for dashboard variables, as regexes (model, version);
	// a variable not given matches everything.
	Vars map[string]string
	// Client makes the HTTP requests; nil means one whose requests time out after
	// promapi.DefaultTimeout.
	Client *http.Client
	// Width and Height of each PNG.
	Width, Height vg.Length
	// Title says where the data came from, in index.md.
	Title string
}

func (o *Options) defaults() {
	if o.End.IsZero() {
		o.End = time.Now()
	}
	if o.Range <= 0 {
		o.Range = time.Hour
	}
	if o.Step <= 0 {
		o.Step = o.Range / 240
		if o.Step < time.Second {
			o.Step = time.Second
		}
	}
	if o.RateInterval <= 0 {
		o.RateInterval = max(4*15*time.Second, o.Step)
	}
	if o.Width == 0 {
		o.Width = 16 * vg.Centimeter
	}
	if o.Height == 0 {
		o.Height = 8 * vg.Centimeter
	}
}

// PanelResult says what happened to one panel.
type PanelResult struct {
	Dashboard string
	Panel     string
	Expr      string // the query as sent, variables substituted
	File      string // PNG path relative to OutDir, empty if nothing was drawn
	Series    int
	Err       error
}

// Render queries and draws every panel with a Prometheus target. A failing
// query is recorded in its PanelResult, not returned: one bad panel must not
// hide the others. The error is for I/O failures.
func Render(ctx context.Context, dashboards []gen.Dashboard, opts Options) ([]PanelResult, error) {
	opts.defaults()
	api, err := promapi.New(opts.PrometheusURL, opts.Client)
	if err != nil {
		return nil, err
	}
	var out []PanelResult
	for _, d := range dashboards {
		dopts := opts
		dopts.Vars = withDefaults(d.Dashboard, opts.Vars)
		base := strings.TrimSuffix(d.File, filepath.Ext(d.File))
		dir := filepath.Join(opts.OutDir, base)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return out, fmt.Errorf("create snapshot directory: %w", err)
		}
		for _, p := range lint.Panels(d.Dashboard) {
			targets := panelTargets(p)
			if len(targets) == 0 {
				continue
			}
			t := targets[0]
			r := PanelResult{Dashboard: title(d.Dashboard), Panel: t.Panel, Expr: substitute(t.Expr, dopts)}
			var plotted []targetSeries
			for _, tg := range targets {
				if tg.Instant != t.Instant || (t.Instant && len(plotted) > 0) {
					continue // bars: the first instant query only
				}
				series, err := query(ctx, api, dopts, substitute(tg.Expr, dopts), tg.Instant)
				if err != nil {
					r.Err = fmt.Errorf("target %s: %w", tg.RefID, err)
					break
				}
				plotted = append(plotted, targetSeries{tg, series})
				r.Series += len(series)
			}
			if r.Err != nil {
				out = append(out, r)
				continue
			}
			name := fmt.Sprintf("%02d-%s.png", panelID(p), slug(t.Panel))
			if err := draw(p, plotted, opts, filepath.Join(dir, name)); err != nil {
				return out, fmt.Errorf("draw %s / %s: %w", r.Dashboard, r.Panel, err)
			}
			r.File = filepath.ToSlash(filepath.Join(base, name))
			out = append(out, r)
		}
	}
	if err := writeIndex(opts.OutDir, opts.Title, out); err != nil {
		return out, err
	}
	return out, nil
}

func panelTargets(p dashboard.Panel) []lint.Target {
	return lint.PromTargets(dashboard.Dashboard{Panels: []dashboard.PanelOrRowPanel{{Panel: &p}}})
}

// targetSeries is one target's query result.
type targetSeries struct {
	target lint.Target
	series []promapi.Sample
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// withDefaults adds the default values of a dashboard's textbox variables
// (the daily budget…) to vars, which take precedence.
func withDefaults(d dashboard.Dashboard, vars map[string]string) map[string]string {
	out := map[string]string{}
	for _, v := range d.Templating.List {
		if v.Type == dashboard.VariableTypeTextbox && v.Query != nil && v.Query.String != nil {
			out[v.Name] = *v.Query.String
		}
	}
	for k, v := range vars {
		out[k] = v
	}
	return out
}

// substitute does what Grafana does before sending a query: time variables
// become durations, template variables their (regex) values.
func substitute(expr string, o Options) string {
	return varRef.ReplaceAllStringFunc(expr, func(m string) string {
		sub := varRef.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		switch name {
		case "__rate_interval":
			return promDuration(o.RateInterval)
		case "__interval":
			return promDuration(o.Step)
		case "__range":
			return promDuration(o.Range)
		case "__range_s":
			return strconv.Itoa(int(o.Range.Seconds()))
		}
		if v, ok := o.Vars[name]; ok {
			return v
		}
		return ".+"
	})
}

func promDuration(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
}

func query(ctx context.Context, api promapi.Querier, o Options, expr string, instant bool) ([]promapi.Sample, error) {
	if instant {
		return promapi.Query(ctx, api, expr, o.End)
	}
	return promapi.QueryRange(ctx, api, expr, v1.Range{Start: o.End.Add(-o.Range), End: o.End, Step: o.Step})
}

const maxSeries = 12

func draw(p dashboard.Panel, results []targetSeries, o Options, path string) error {
	pl := plot.New()
	pl.Title.Text = results[0].target.Panel
	pl.Y.Label.Text = unit(p)
	pl.Legend.Top = true
	pl.Legend.TextStyle.Font.Size = vg.Points(8)
	total := 0
	for _, r := range results {
		total += len(r.series)
	}
	switch {
	case total == 0:
		pl.X.Label.Text = "no data in the range"
		pl.BackgroundColor = color.RGBA{R: 0xf4, G: 0xf4, B: 0xf4, A: 0xff}
	case results[0].target.Instant:
		if err := drawBars(pl, results[0].target, limit(sorted(results[0]))); err != nil {
			return err
		}
	default:
		pl.X.Tick.Marker = plot.TimeTicks{Format: "15:04:05"}
		drawn := 0
		for _, r := range results {
			for _, s := range sorted(r) {
				if drawn == maxSeries {
					break
				}
				xys := make(plotter.XYs, len(s.Values))
				for j, v := range s.Values {
					xys[j] = plotter.XY{X: float64(v.T.Unix()), Y: v.V}
				}
				line, err := plotter.NewLine(xys)
				if err != nil {
					return err
				}
				line.Color = plotutil.Color(drawn)
				line.Width = vg.Points(1.5)
				line.Dashes = plotutil.Dashes(drawn / len(plotutil.DefaultColors))
				pl.Add(line)
				pl.Legend.Add(legend(r.target, s), line)
				drawn++
			}
		}
		pl.Add(plotter.NewGrid())
	}
	return pl.Save(o.Width, o.Height, path)
}

func sorted(r targetSeries) []promapi.Sample {
	s := append([]promapi.Sample(nil), r.series...)
	sort.Slice(s, func(i, j int) bool { return legend(r.target, s[i]) < legend(r.target, s[j]) })
	return s
}

func limit(s []promapi.Sample) []promapi.Sample {
	if len(s) > maxSeries {
		return s[:maxSeries]
	}
	return s
}

func drawBars(pl *plot.Plot, t lint.Target, series []promapi.Sample) error {
	vals := make(plotter.Values, len(series))
	names := make([]string, len(series))
	for i, s := range series {
		vals[i] = s.Values[0].V
		names[i] = legend(t, s)
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(20))
	if err != nil {
		return err
	}
	bars.Color = plotutil.Color(0)
	pl.Add(bars)
	pl.NominalX(names...)
	return nil
}

var legendRef = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// legend renders a Grafana legend format ("{{model}} p95") for a series.
func legend(t lint.Target, s promapi.Sample) string {
	format := t.Legend
	if format == "" || format == "__auto" {
		keys := make([]string, 0, len(s.Metric))
		for k := range s.Metric {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+"="+s.Metric[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return legendRef.ReplaceAllStringFunc(format, func(m string) string {
		return s.Metric[legendRef.FindStringSubmatch(m)[1]]
	})
}

func unit(p dashboard.Panel) string {
	if p.FieldConfig != nil && p.FieldConfig.Defaults.Unit != nil {
		return *p.FieldConfig.Defaults.Unit
	}
	return ""
}

func title(d dashboard.Dashboard) string {
	if d.Title == nil {
		return ""
	}
	return *d.Title
}

func panelID(p dashboard.Panel) uint32 {
	if p.Id == nil {
		return 0
	}
	return *p.Id
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

func slug(s string) string {
	return strings.Trim(nonWord.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// writeIndex writes index.md: every panel with its picture, or why it has none.
func writeIndex(dir, source string, results []PanelResult) error {
	var b strings.Builder
	// Grafana cannot run here: the pictures show each panel's queries as lines, whatever the
	// panel's type, and the page must not pass them off as screenshots of Grafana.
	b.WriteString("# Dashboard query previews\n\nThe Prometheus queries of each panel, drawn as lines over time by `dashboards/internal/snapshot`")
	if source != "" {
		b.WriteString(" from " + source)
	}
	b.WriteString(". These are previews of the data, not pictures of Grafana: a table, stat or gauge panel shows its query's values there, not lines.\n")
	current := ""
	for _, r := range results {
		if r.Dashboard != current {
			current = r.Dashboard
			fmt.Fprintf(&b, "\n## %s\n\n", current)
		}
		switch {
		case r.Err != nil:
			fmt.Fprintf(&b, "- **%s**: query failed: %v\n", r.Panel, r.Err)
		case r.Series == 0:
			fmt.Fprintf(&b, "- **%s**: no data\n", r.Panel)
		default:
			fmt.Fprintf(&b, "- **%s** (%d series)\n\n  ![%s](%s)\n", r.Panel, r.Series, r.Panel, r.File)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "index.md"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write snapshot index: %w", err)
	}
	return nil
}
