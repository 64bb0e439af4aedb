package sim

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/opscentre/opscentre/exporter/client"
)

// feature describes how a healthy model's input feature is distributed.
type feature struct {
	name string
	// numeric: exp(N(mu, sigma)) when logNormal, else N(mu, sigma), rounded when integer.
	mu, sigma  float64
	logNormal  bool
	integer    bool
	min, max   float64 // clamp for numeric features
	categories []string
	weights    []float64
	// boolean: true with probability p.
	boolean bool
	p       float64
}

func (f feature) categorical() bool { return len(f.categories) > 0 }

var features = map[string][]feature{
	KindClassifier: {
		{name: "amount", mu: 3.6, sigma: 1.0, logNormal: true, min: 0.5, max: 1e6},
		{name: "account_age_days", mu: 420, sigma: 160, integer: true, min: 0, max: 5000},
		{name: "hour", mu: 14, sigma: 4.5, integer: true, min: 0, max: 23},
		{name: "merchant_category", categories: []string{"grocery", "restaurants", "electronics", "online", "travel"}, weights: []float64{0.35, 0.25, 0.15, 0.15, 0.10}},
		{name: "country", categories: []string{"US", "GB", "DE", "FR"}, weights: []float64{0.5, 0.2, 0.15, 0.15}},
		{name: "new_device", boolean: true, p: 0.1},
	},
	KindRegressor: {
		{name: "price", mu: 20, sigma: 5, min: 1, max: 200},
		{name: "temperature", mu: 15, sigma: 8, min: -30, max: 45},
		{name: "day_of_week", mu: 3, sigma: 2, integer: true, min: 0, max: 6},
		{name: "store_size", categories: []string{"small", "medium", "large"}, weights: []float64{0.3, 0.5, 0.2}},
		{name: "promo", boolean: true, p: 0.2},
	},
	KindLLM: {
		{name: "language", categories: []string{"en", "de", "fr", "es"}, weights: []float64{0.7, 0.1, 0.1, 0.1}},
		{name: "channel", categories: []string{"web", "app", "email"}, weights: []float64{0.5, 0.35, 0.15}},
		{name: "turns", mu: 3, sigma: 1.5, integer: true, min: 1, max: 40},
	},
}

func featureSpec(kind, name string) (feature, bool) {
	for _, f := range features[kind] {
		if f.name == name {
			return f, true
		}
	}
	return feature{}, false
}

func featureNames(kind string) []string {
	var out []string
	for _, f := range features[kind] {
		out = append(out, f.name)
	}
	return out
}

// player generates the events of one model.
type player struct {
	m       *Model
	seed    uint64
	faults  []*Fault
	weights []float64 // cumulative version weights
}

func newPlayer(seed uint64, m *Model, all []Fault) *player {
	h := fnv.New64a()
	h.Write([]byte(m.Name))
	p := &player{m: m, seed: seed ^ h.Sum64()}
	for i := range all {
		if all[i].Model == m.Name {
			p.faults = append(p.faults, &all[i])
		}
	}
	total := 0.0
	for _, v := range m.Versions {
		total += v.Weight
		p.weights = append(p.weights, total)
	}
	for i := range p.weights {
		p.weights[i] /= total
	}
	return p
}

// active returns the faults in force at scenario time t.
func (p *player) active(t time.Duration) []*Fault {
	var out []*Fault
	for _, f := range p.faults {
		if f.Active(t) {
			out = append(out, f)
		}
	}
	return out
}

// rate is the event rate at scenario time t, after volume faults.
func (p *player) rate(t time.Duration) float64 {
	r := p.m.Rate
	for _, f := range p.active(t) {
		if f.Kind == FaultVolumeDrop {
			r *= f.Factor
		}
	}
	return r
}

// generate returns event n of this model at scenario time t (wall time ts) and, when the
// prediction will get a ground-truth label, that label (its timestamp left for the caller).
//
// decide, when set, is the application's containment decision (exporter/client's
// Watcher.Decide): a fallback runs the fallback version instead, a disabled model sends
// only a marker event (the non-AI alternative served the request), a blocked input sends
// a marker without its features; none of those gets a label.
func (p *player) generate(n uint64, t time.Duration, ts time.Time, decide Decider) (client.Event, *client.Label) {
	rng := rand.New(rand.NewPCG(p.seed, n))
	active := p.active(t)
	ev := client.Event{
		Model:     p.m.Name,
		ID:        fmt.Sprintf("%s-%d", p.m.Name, n),
		Timestamp: &ts,
		Features:  map[string]any{},
		// Every event states its latency, 0 for a marker of a contained request.
		LatencySeconds: new(0.0),
	}
	vi := min(sort.SearchFloat64s(p.weights, rng.Float64()), len(p.m.Versions)-1)
	ev.Version = p.m.Versions[vi].Name
	for _, f := range features[p.m.Kind] {
		if v, ok := drawFeature(rng, f, active); ok {
			ev.Features[f.name] = v
		}
	}
	if decide != nil {
		d := decide(ev.Model, ev.Version, ev.Features)
		ev.Containment = client.ContainmentOf(d)
		switch d.Action {
		case client.Fallback:
			ev.Version = d.Version
		case client.Disabled, client.Blocked:
			ev.Features = nil
			return ev, nil
		}
	}
	for _, f := range active {
		if f.Kind == FaultErrors && (f.Version == "" || f.Version == ev.Version) && rng.Float64() < f.Ratio {
			ev.Error = []string{"timeout", "upstream_unavailable", "rate_limited"}[rng.IntN(3)]
		}
	}
	var lbl *client.Label
	switch p.m.Kind {
	case KindClassifier:
		lbl = p.classify(rng, &ev, active)
	case KindRegressor:
		lbl = p.regress(rng, &ev, active)
	case KindLLM:
		p.chat(rng, &ev, active)
	}
	if ev.Error != "" {
		// A failed inference has no prediction, and so no label to wait for.
		ev.Prediction, ev.Scores, lbl = nil, nil, nil
	}
	if lbl != nil && (p.m.LabelDelay == 0 || rng.Float64() >= p.m.LabelShare) {
		lbl = nil
	}
	return ev, lbl
}

func drawFeature(rng *rand.Rand, f feature, active []*Fault) (any, bool) {
	shift, share, category := 0.0, 0.0, ""
	for _, a := range active {
		if a.Feature != f.name {
			continue
		}
		switch a.Kind {
		case FaultNulls:
			if rng.Float64() < a.Ratio {
				return nil, false
			}
		case FaultFeatureShift:
			shift, share, category = a.Shift, a.Share, a.Category
		}
	}
	switch {
	case f.boolean:
		p := f.p
		if shift != 0 {
			p = math.Min(1, math.Max(0, p+shift*math.Sqrt(p*(1-p))))
		}
		return rng.Float64() < p, true
	case f.categorical():
		if category != "" && rng.Float64() < share {
			return category, true
		}
		u, acc := rng.Float64(), 0.0
		for i, w := range f.weights {
			acc += w
			if u < acc {
				return f.categories[i], true
			}
		}
		return f.categories[len(f.categories)-1], true
	default:
		v := f.mu + f.sigma*(rng.NormFloat64()+shift)
		if f.logNormal {
			v = math.Exp(v)
		}
		v = math.Min(f.max, math.Max(f.min, v))
		if f.integer {
			v = math.Round(v)
		} else {
			v = math.Round(v*100) / 100
		}
		return v, true
	}
}

// accuracy is how often the model (at this version) is right under the active faults.
func (p *player) accuracy(version string, active []*Fault) float64 {
	acc := p.m.Accuracy
	for _, f := range active {
		switch {
		case f.Kind == FaultAccuracyDecay:
			acc = math.Min(acc, f.Accuracy)
		case f.Kind == FaultCanaryWorse && f.Version == version:
			acc = math.Min(acc, f.Accuracy)
		}
	}
	return acc
}

// classify plays a fraud classifier whose scores are calibrated while it is healthy: the
// confidence c has mean equal to the accuracy and the prediction is right with probability c.
// Under an accuracy fault the confidence stays as it was and only correctness drops — the
// silent failure that only ground truth (or drift) reveals.
func (p *player) classify(rng *rand.Rand, ev *client.Event, active []*Fault) *client.Label {
	base := p.m.Accuracy
	gamma := 0.0
	if base > 0.5 {
		gamma = 1/(2*base-1) - 1
	}
	c := 0.5
	if base > 0.5 {
		c = 0.5 + 0.5*math.Pow(rng.Float64(), gamma)
	}
	// Fraud is more likely for large amounts on new devices at night.
	amount, _ := ev.Features["amount"].(float64)
	newDevice, _ := ev.Features["new_device"].(bool)
	risk := -3.2 + 0.35*math.Log1p(amount)
	if newDevice {
		risk += 1.2
	}
	truth := "legit"
	if rng.Float64() < 1/(1+math.Exp(-risk)) {
		truth = "fraud"
	}
	correctP := c * p.accuracy(ev.Version, active) / base
	pred := truth
	if rng.Float64() >= correctP {
		pred = map[string]string{"fraud": "legit", "legit": "fraud"}[truth]
	}
	pFraud := c
	if pred == "legit" {
		pFraud = 1 - c
	}
	ev.Prediction = pred
	ev.Scores = map[string]float64{"fraud": round4(pFraud), "legit": round4(1 - pFraud)}
	ev.LatencySeconds = new(round4(latency(rng, 0.012, 0.4, active)))
	if pred == "fraud" {
		ev.Business = map[string]float64{"transactions_blocked": 1, "amount_blocked": amount}
	} else {
		ev.Business = map[string]float64{"transactions_approved": 1}
	}
	return &client.Label{Model: ev.Model, ID: ev.ID, Label: truth}
}

// regress plays a demand forecaster: the truth is a linear function of the features plus
// noise, the prediction is off by a relative error of about 1-accuracy.
func (p *player) regress(rng *rand.Rand, ev *client.Event, active []*Fault) *client.Label {
	price, _ := ev.Features["price"].(float64)
	temp, _ := ev.Features["temperature"].(float64)
	promo, _ := ev.Features["promo"].(bool)
	size := map[any]float64{"small": -20, "medium": 0, "large": 35}[ev.Features["store_size"]]
	y := 120 - 2*price + 0.8*temp + size + 4*rng.NormFloat64()
	if promo {
		y += 30
	}
	y = math.Max(0, y)
	noise := 1 - p.accuracy(ev.Version, active)
	pred := math.Max(0, y*(1+noise*rng.NormFloat64()))
	ev.Prediction = round4(pred)
	ev.LatencySeconds = new(round4(latency(rng, 0.006, 0.3, active)))
	return &client.Label{Model: ev.Model, ID: ev.ID, Value: new(round4(y))}
}

// chat plays an LLM support assistant: tokens, latency proportional to output, task
// outcomes, escalations and thumbs up/down.
func (p *player) chat(rng *rand.Rand, ev *client.Event, active []*Fault) {
	length := int(math.Exp(5.5 + 0.8*rng.NormFloat64()))
	outFactor := 1.0
	for _, f := range active {
		if f.Kind == FaultTokenRunaway {
			outFactor *= f.Factor
		}
	}
	in := 350 + length/4
	out := int(math.Exp(5.3+0.5*rng.NormFloat64()) * outFactor)
	cached := 0
	if rng.Float64() < 0.6 {
		cached = 300
	}
	ev.InputTextLength = &length
	ev.Tokens = &client.Tokens{Input: int64(in), Output: int64(out), Cached: int64(cached)}
	ev.LatencySeconds = new(round4(latency(rng, 0.3+0.008*float64(out), 0.25, active)))
	ev.Prediction = "answered"
	o := &client.Outcome{}
	switch u := rng.Float64(); {
	case u < 0.84:
		o.Task = "completed"
	case u < 0.92:
		o.Task, o.Escalated = "escalated", true
	case u < 0.96:
		o.Task = "failed"
	default:
		o.Task = "abandoned"
	}
	ev.Outcome = o
	if rng.Float64() < 0.3 {
		good := 0.85
		if o.Task != "completed" {
			good = 0.25
		}
		r := "negative"
		if rng.Float64() < good {
			r = "positive"
		}
		ev.Feedback = &client.Feedback{Rating: r}
	}
	ev.Business = map[string]float64{"handle_time_seconds": round4(30 + 40*rng.ExpFloat64())}
	if o.Task == "completed" {
		ev.Business["tickets_deflected"] = 1
	}
	// Requests wait in a queue that grows with latency (Little's law, roughly).
	q := math.Round(*ev.LatencySeconds * 2 * (1 + rng.Float64()))
	ev.QueueDepth = &q
	if rng.Float64() < goldenShare {
		p.goldenAnswer(rng, ev, active)
	}
}

// goldenShare is the share of an LLM's traffic that asks a question of the golden set, whose
// reference answers the application sends along for ROUGE-L and BLEU.
const goldenShare = 0.2

// golden is a tiny golden set: a reference answer, a faithful paraphrase and a wrong answer.
var golden = []struct{ reference, good, bad string }{
	{"To reset your password, open the account settings page and choose Reset password.",
		"Open the account settings page and choose Reset password to reset your password.",
		"Passwords cannot be changed; please create a new account."},
	{"Refunds are paid to the original card within five business days.",
		"The refund goes to the original card within five business days.",
		"We send refunds as store credit after thirty days."},
	{"You can cancel your subscription at any time from the billing page.",
		"Cancel your subscription at any time on the billing page.",
		"Subscriptions renew automatically and cannot be cancelled online."},
}

// goldenAnswer answers a golden-set question: faithfully with the model's accuracy (default
// 0.92, lowered by an accuracy_decay fault), otherwise wrongly — the quiet quality loss only
// reference answers reveal.
func (p *player) goldenAnswer(rng *rand.Rand, ev *client.Event, active []*Fault) {
	g := golden[rng.IntN(len(golden))]
	ev.ReferenceAnswer, ev.OutputText = g.reference, g.good
	if rng.Float64() >= p.accuracy(ev.Version, active) {
		ev.OutputText = g.bad
	}
}

// latency draws a log-normal latency with the given median and spread, times any spike.
func latency(rng *rand.Rand, median, sigma float64, active []*Fault) float64 {
	v := median * math.Exp(sigma*rng.NormFloat64())
	for _, f := range active {
		if f.Kind == FaultLatencySpike {
			v *= f.Factor
		}
	}
	return v
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }
