package state

// The business-outcomes pillar: task outcomes, containments, user feedback and the business
// events reported with inferences. Its numbers are cumulative: nothing of it is windowed.
// Apply adds an event to it with BusinessCounters.apply; Read and Snapshot copy it with clone.

import "github.com/opscentre/opscentre/exporter/config"

// Task outcomes, containment actions and feedback ratings: closed sets, used as label values.
var (
	Outcomes = [4]string{"completed", "failed", "escalated", "abandoned"}
	// ContainmentActions are the actions of incidentd containments an event may carry
	// (aiops_contained_events_total{action}).
	ContainmentActions = [3]string{"fallback", "disable", "block_inputs"}
	Ratings            = [7]string{"positive", "negative", "1", "2", "3", "4", "5"}
)

// BusinessCounters are a version's business outcomes.
type BusinessCounters struct {
	Outcomes [4]uint64 `json:"outcomes"`
	// Contained counts events produced under a containment, by ContainmentActions.
	Contained [3]uint64                 `json:"contained,omitzero"`
	Feedback  [7]uint64                 `json:"feedback"`
	Business  map[string]*BusinessCount `json:"business,omitempty"`
}

// BusinessCount is one business event name's count and summed value.
type BusinessCount struct {
	Events uint64  `json:"events"`
	Value  float64 `json:"value"`
}

func (c *BusinessCounters) apply(v *Version, e *Event, cfg *config.Config) {
	if e.Outcome >= 0 {
		c.Outcomes[e.Outcome]++
	}
	if e.Feedback >= 0 {
		c.Feedback[e.Feedback]++
	}
	if e.Contained > 0 {
		c.Contained[e.Contained-1]++
	}
	for _, b := range e.Business {
		if c.Business == nil {
			c.Business = make(map[string]*BusinessCount)
		}
		name := v.state.bound(LabelName, b.Name, cfg.Limits.MaxLabelValues)
		bc := c.Business[name]
		if bc == nil {
			bc = &BusinessCount{}
			c.Business[name] = bc
		}
		bc.Events++
		bc.Value += b.Value
	}
}

func (c *BusinessCounters) clone() BusinessCounters {
	out := *c
	if c.Business != nil {
		out.Business = make(map[string]*BusinessCount, len(c.Business))
		for k, b := range c.Business {
			bc := *b
			out.Business[k] = &bc
		}
	}
	return out
}
