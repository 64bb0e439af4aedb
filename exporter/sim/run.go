package sim

import (
	"container/heap"
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/opscentre/opscentre/exporter/client"
)

// Sink receives what the simulated applications send: batches of events, and labels.
type Sink interface {
	SendEvents(ctx context.Context, events []client.Event) error
	SendLabels(ctx context.Context, labels []client.Label) error
}

// Options configure a run.
type Options struct {
	Scenario *Scenario
	Sink     Sink
	// Speed runs scenario time this many times faster than the wall clock (1 = real time).
	Speed float64
	// NoPacing generates as fast as the sink accepts, for tests; timestamps still follow
	// Start + scenario time / Speed.
	NoPacing bool
	// Start is the wall time of scenario time zero (default: now).
	Start time.Time
	// Tick is the scenario-time step at which events are generated and sent (default 100ms).
	Tick time.Duration
	// Progress, when set, receives a one-line status every ProgressEvery of wall time.
	Progress      io.Writer
	ProgressEvery time.Duration
	// Now is the wall clock (default time.Now).
	Now func() time.Time
	// Decide, when set, is asked about every request before the model runs, as an
	// application obeying incidentd's containments does (exporter/client Watcher.Decide).
	Decide Decider
}

// Decider decides what to do with one request under the active containments.
type Decider func(model, version string, features map[string]any) client.Decision

// Stats counts what a run sent.
type Stats struct {
	Events, Labels uint64
	// SendErrors counts failed sends; LabelSendErrors those of labels among them.
	SendErrors, LabelSendErrors uint64
	// LastError is the most recent send failure, for the user to read.
	LastError    error
	ScenarioTime time.Duration
}

// Run plays the scenario until its duration ends or ctx is done.
func Run(ctx context.Context, o Options) (Stats, error) {
	if o.Scenario == nil || o.Sink == nil {
		return Stats{}, fmt.Errorf("sim: Scenario and Sink are required")
	}
	if o.Speed <= 0 {
		o.Speed = 1
	}
	if o.Tick <= 0 {
		o.Tick = 100 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Start.IsZero() {
		o.Start = o.Now()
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = time.Second
	}
	s := o.Scenario
	players := make([]*player, len(s.Models))
	next := make([]uint64, len(s.Models))   // next event number per model
	carry := make([]float64, len(s.Models)) // fractional events owed per model
	for i := range s.Models {
		players[i] = newPlayer(s.Seed, &s.Models[i], s.Faults)
	}
	wall := func(t time.Duration) time.Time {
		return o.Start.Add(time.Duration(float64(t) / o.Speed))
	}
	var st Stats
	due := &labelQueue{}
	lastProgress := o.Now()
	for t := time.Duration(0); s.Duration == 0 || t < s.Duration.D(); t += o.Tick {
		if err := ctx.Err(); err != nil {
			break
		}
		if !o.NoPacing {
			if d := wall(t).Sub(o.Now()); d > 0 {
				select {
				case <-ctx.Done():
					return st, nil
				case <-time.After(d):
				}
			}
		}
		var batch []client.Event
		for i, p := range players {
			carry[i] += p.rate(t) * o.Tick.Seconds()
			k := uint64(math.Floor(carry[i]))
			carry[i] -= float64(k)
			for j := uint64(0); j < k; j++ {
				// Spread the tick's events evenly over the tick.
				et := t + time.Duration(float64(o.Tick)*float64(j)/float64(k))
				ev, lbl := p.generate(next[i], et, wall(et), o.Decide)
				next[i]++
				batch = append(batch, ev)
				if lbl != nil {
					at := et + p.m.LabelDelay.D()
					lbl.Timestamp = new(wall(at))
					heap.Push(due, dueLabel{at: at, l: *lbl})
				}
			}
		}
		if len(batch) > 0 {
			if err := o.Sink.SendEvents(ctx, batch); err != nil {
				// A send cut short because the run was stopped is the end of the run, not a
				// failure of the exporter: counting it made callers that stop the simulator
				// mid-send (the e2e loop) see a send error under load.
				if ctx.Err() != nil {
					break
				}
				st.SendErrors, st.LastError = st.SendErrors+1, err
			} else {
				st.Events += uint64(len(batch))
			}
		}
		var labels []client.Label
		for due.Len() > 0 && (*due)[0].at <= t {
			labels = append(labels, heap.Pop(due).(dueLabel).l)
		}
		if len(labels) > 0 {
			if err := o.Sink.SendLabels(ctx, labels); err != nil {
				if ctx.Err() != nil {
					break
				}
				st.SendErrors, st.LastError = st.SendErrors+1, err
				st.LabelSendErrors++
			} else {
				st.Labels += uint64(len(labels))
			}
		}
		st.ScenarioTime = t + o.Tick
		if o.Progress != nil && o.Now().Sub(lastProgress) >= o.ProgressEvery {
			lastProgress = o.Now()
			fmt.Fprintf(o.Progress, "\rsim t=%-8s events=%-9d labels=%-9d errors=%-4d faults=[%s]   ",
				st.ScenarioTime.Truncate(time.Second), st.Events, st.Labels, st.SendErrors, activeNames(s, t))
		}
	}
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "\rsim done t=%s events=%d labels=%d errors=%d\n",
			st.ScenarioTime.Truncate(time.Second), st.Events, st.Labels, st.SendErrors)
	}
	return st, nil
}

func activeNames(s *Scenario, t time.Duration) string {
	var names []string
	for i := range s.Faults {
		if s.Faults[i].Active(t) {
			names = append(names, s.Faults[i].Name)
		}
	}
	return strings.Join(names, " ")
}

type dueLabel struct {
	at time.Duration
	l  client.Label
}

// labelQueue orders labels by the scenario time they are due.
type labelQueue []dueLabel

func (q labelQueue) Len() int           { return len(q) }
func (q labelQueue) Less(i, j int) bool { return q[i].at < q[j].at }
func (q labelQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *labelQueue) Push(x any)        { *q = append(*q, x.(dueLabel)) }
func (q *labelQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
