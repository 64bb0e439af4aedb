package otlp

import (
	"fmt"
	"hash/maphash"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/opscentre/opscentre/exporter/internal/state"
)

// PathMetrics is where OTLP/HTTP exporters send metrics.
const PathMetrics = "/v1/metrics"

const signalMetrics = "metrics"

// The GenAI metrics of the semantic conventions.
const (
	metricTokenUsage = "gen_ai.client.token.usage"
	metricDuration   = "gen_ai.client.operation.duration"
	metricTTFT       = "gen_ai.server.time_to_first_token"
	metricTPOT       = "gen_ai.server.time_per_output_token"
)

// Reasons a metric is ignored, beside not_genai.
const (
	// ignoredFromSpans: the per-call families come from spans only (the dedup rule).
	ignoredFromSpans = "from_spans"
	// ignoredType: a GenAI metric in a form not read (exponential histogram, gauge, sum).
	ignoredType = "unsupported_type"
)

// Bucket bounds of the families fed by metrics: those the conventions advise.
var (
	TTFTBounds = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	TPOTBounds = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5}
)

// maxStreams bounds the cumulative streams remembered to turn totals into increments.
// When full the memory is dropped; a forgotten stream's next point is a new baseline, so
// nothing is counted twice (one interval of it is lost instead).
const maxStreams = 10000

// serverHist is one family's counts for one model version, over fixed bounds.
type serverHist struct {
	counts []uint64 // per bucket, non-cumulative, +Inf last
	count  uint64
	sum    float64
}

type histKey struct {
	versionKey
	ttft bool
}

// stream is the last cumulative point of one series.
type stream struct {
	start  pcommon.Timestamp
	count  uint64
	sum    float64
	counts []uint64
}

// serverMetrics turns the GenAI server histograms into aiops_llm_time_to_first_token_seconds
// and aiops_llm_time_per_output_token_seconds.
type serverMetrics struct {
	mu      sync.Mutex
	started pcommon.Timestamp
	seed    maphash.Seed
	hists   map[histKey]*serverHist
	streams map[uint64]*stream

	dTTFT, dTPOT *prometheus.Desc
}

func newServerMetrics(now time.Time) *serverMetrics {
	mv := []string{"model", "version"}
	return &serverMetrics{
		started: pcommon.NewTimestampFromTime(now),
		seed:    maphash.MakeSeed(),
		hists:   make(map[histKey]*serverHist),
		streams: make(map[uint64]*stream),
		dTTFT:   prometheus.NewDesc("aiops_llm_time_to_first_token_seconds", "OpenTelemetry gen_ai.server.time_to_first_token received over OTLP metrics, re-bucketed by each bucket's upper bound.", mv, nil),
		dTPOT:   prometheus.NewDesc("aiops_llm_time_per_output_token_seconds", "OpenTelemetry gen_ai.server.time_per_output_token received over OTLP metrics, re-bucketed by each bucket's upper bound.", mv, nil),
	}
}

func (r *Receiver) serveMetrics(rw http.ResponseWriter, req *http.Request) {
	r.serveOTLP(rw, req, signalMetrics, func(body []byte, enc encoding) ([]byte, error) {
		in := pmetricotlp.NewExportRequest()
		if err := decode(in, body, enc, "ExportMetricsServiceRequest"); err != nil {
			return nil, err
		}
		rejected, msg := r.consumeMetrics(in.Metrics())
		resp := pmetricotlp.NewExportResponse()
		if rejected > 0 {
			resp.PartialSuccess().SetRejectedDataPoints(int64(rejected))
			resp.PartialSuccess().SetErrorMessage(msg)
		}
		return encode(resp, enc)
	})
}

// consumeMetrics applies the GenAI server histograms of md; it returns the data points
// rejected and why.
func (r *Receiver) consumeMetrics(md pmetric.Metrics) (int, string) {
	var ignored = map[string]int{}
	rejected := 0
	var msgs []string
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		resHash := r.metrics.hashMap(rm.Resource().Attributes(), 0)
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				switch m.Name() {
				case metricTokenUsage, metricDuration:
					ignored[ignoredFromSpans]++
					continue
				case metricTTFT, metricTPOT:
				default:
					ignored[ignoredNotGenAI]++
					continue
				}
				if m.Type() != pmetric.MetricTypeHistogram {
					ignored[ignoredType]++
					continue
				}
				n, msg := r.histogram(m, resHash)
				rejected += n
				if msg != "" && len(msgs) < maxMessages {
					msgs = append(msgs, msg)
				}
			}
		}
	}
	for reason, n := range ignored {
		r.counts.ignore(signalMetrics, reason, n)
	}
	return rejected, joinMessages(msgs, rejected)
}

// histogram applies the data points of one server histogram.
func (r *Receiver) histogram(m pmetric.Metric, resHash uint64) (rejected int, msg string) {
	ttft := m.Name() == metricTTFT
	bounds := TPOTBounds
	if ttft {
		bounds = TTFTBounds
	}
	h := m.Histogram()
	cumulative := h.AggregationTemporality() == pmetric.AggregationTemporalityCumulative
	dps := h.DataPoints()
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		fail := func(format string, args ...any) {
			rejected++
			if msg == "" {
				msg = fmt.Sprintf("%s data point %d: ", m.Name(), i) + fmt.Sprintf(format, args...)
			}
		}
		explicit := dp.ExplicitBounds()
		if dp.BucketCounts().Len() != 0 && dp.BucketCounts().Len() != explicit.Len()+1 {
			fail("%d bucket counts for %d explicit bounds; expected one more count than bounds", dp.BucketCounts().Len(), explicit.Len())
			continue
		}
		model, version := modelOf(kindInference, dp.Attributes())
		if model.Type() != pcommon.ValueTypeStr || model.Str() == "" || len(model.Str()) > maxNameLen {
			fail("%s must be a non-empty string of at most %d bytes", attrRequestModel, maxNameLen)
			continue
		}
		if version.Type() != pcommon.ValueTypeEmpty && (version.Type() != pcommon.ValueTypeStr || len(version.Str()) > maxNameLen) {
			fail("%s must be a string of at most %d bytes", attrResponseModel, maxNameLen)
			continue
		}
		sum := dp.Sum()
		if sum < 0 || sum != sum {
			fail("sum must be a number >= 0, got %v", sum)
			continue
		}
		counts := dp.BucketCounts().AsRaw()
		count, s := dp.Count(), sum
		if cumulative {
			var ok bool
			if count, s, counts, ok = r.metrics.increment(resHash, m.Name(), dp, counts); !ok {
				continue
			}
		}
		if count == 0 {
			continue
		}
		ver, res := r.st.Resolve([]byte(model.Str()), []byte(version.Str()))
		if res != state.Resolved {
			fail("model %q is not configured and unknown_models is reject", truncate(model.Str()))
			continue
		}
		r.metrics.add(histKey{versionKey{ver.Model(), ver.Name}, ttft}, bounds, explicit.AsRaw(), counts, count, s)
	}
	return rejected, msg
}

// increment turns a cumulative point into the increment since the stream's last point. The
// first point of a stream that started before the exporter is only a baseline: what it
// counts may have been sent to an earlier run.
func (s *serverMetrics) increment(resHash uint64, name string, dp pmetric.HistogramDataPoint, counts []uint64) (uint64, float64, []uint64, bool) {
	key := s.hashMap(dp.Attributes(), resHash^s.hashString(name))
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.streams[key]
	cur := &stream{start: dp.StartTimestamp(), count: dp.Count(), sum: dp.Sum(), counts: counts}
	if prev == nil && len(s.streams) >= maxStreams {
		s.streams = make(map[uint64]*stream)
	}
	s.streams[key] = cur
	switch {
	case prev == nil:
		if dp.StartTimestamp() == 0 || dp.StartTimestamp() < s.started {
			return 0, 0, nil, false
		}
		return cur.count, cur.sum, counts, true
	case cur.start != prev.start || cur.count < prev.count || len(prev.counts) != len(counts):
		// The sender restarted: this point counts from zero.
		return cur.count, cur.sum, counts, true
	}
	inc := make([]uint64, len(counts))
	for i := range counts {
		if counts[i] < prev.counts[i] {
			return cur.count, cur.sum, counts, true
		}
		inc[i] = counts[i] - prev.counts[i]
	}
	return cur.count - prev.count, cur.sum - prev.sum, inc, true
}

// add puts a point's buckets into the family's: each sender bucket's count goes to the
// bucket holding its upper bound (the +Inf bucket's to the one above its lower bound).
func (s *serverMetrics) add(k histKey, bounds, explicit []float64, counts []uint64, count uint64, sum float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hists[k]
	if h == nil {
		h = &serverHist{counts: make([]uint64, len(bounds)+1)}
		s.hists[k] = h
	}
	h.count += count
	h.sum += sum
	if len(counts) == 0 {
		h.counts[len(bounds)] += count // no buckets: only count and sum are known
		return
	}
	for i, c := range counts {
		if c == 0 {
			continue
		}
		var j int
		if i < len(explicit) {
			j = searchBound(bounds, explicit[i])
		} else if len(explicit) > 0 {
			j = searchBound(bounds, explicit[len(explicit)-1])
			if j < len(bounds) && bounds[j] == explicit[len(explicit)-1] {
				j++
			}
		} else {
			j = len(bounds)
		}
		h.counts[j] += c
	}
}

func searchBound(bounds []float64, v float64) int {
	i := 0
	for i < len(bounds) && bounds[i] < v {
		i++
	}
	return i
}

func (s *serverMetrics) hashString(v string) uint64 { return maphash.String(s.seed, v) }

// hashMap hashes attributes whatever their order.
func (s *serverMetrics) hashMap(m pcommon.Map, seed uint64) uint64 {
	h := seed
	m.Range(func(k string, v pcommon.Value) bool {
		h ^= maphash.String(s.seed, k+"\x00"+v.AsString()) * 0x9E3779B97F4A7C15
		return true
	})
	return h
}

func (s *serverMetrics) describe(ch chan<- *prometheus.Desc) {
	ch <- s.dTTFT
	ch <- s.dTPOT
}

func (s *serverMetrics) collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, h := range s.hists {
		desc, bounds := s.dTPOT, TPOTBounds
		if k.ttft {
			desc, bounds = s.dTTFT, TTFTBounds
		}
		buckets := make(map[float64]uint64, len(bounds))
		var cum uint64
		for i, b := range bounds {
			cum += h.counts[i]
			buckets[b] = cum
		}
		m, err := prometheus.NewConstHistogram(desc, h.count, h.sum, buckets, k.model, k.version)
		if err != nil {
			m = prometheus.NewInvalidMetric(desc, err)
		}
		ch <- m
	}
}
