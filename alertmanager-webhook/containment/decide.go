package containment

import (
	"fmt"
	"strconv"
	"time"
)

// Verdict is what an application does with one request.
type Verdict string

// Verdicts of Decide.
const (
	Serve    Verdict = "serve"    // run the model as asked
	Fallen   Verdict = "fallback" // run Decision.Version instead
	Disabled Verdict = "disabled" // do not run the model; serve the non-AI alternative
	Blocked  Verdict = "blocked"  // refuse this input
)

// Decision is Decide's answer.
type Decision struct {
	Action Verdict `json:"action"`
	// Version is the version to run: the fallback for Fallen, the asked one for Serve.
	Version       string `json:"version,omitempty"`
	Reason        string `json:"reason,omitempty"`
	ContainmentID int64  `json:"containment_id,omitempty"`
	// ContainmentAction is the containment's action (fallback, disable, block_inputs).
	ContainmentAction Action `json:"containment_action,omitempty"`
}

// InputClassFeature is the feature an application sets to name a request's input class,
// which a block_inputs containment with match.input_class compares.
const InputClassFeature = "input_class"

// Decide applies the active containments cs to one request of model at version with
// features: a disable wins over a block, a block over a fallback, and an older containment
// over a newer of the same action (the list order, oldest first, as incidentd returns it).
// A fallback does not apply to its own fallback version, so traffic never loops.
func Decide(cs []Containment, model, version string, features map[string]any) Decision {
	return DecideAt(cs, time.Time{}, model, version, features)
}

// DecideAt is Decide ignoring the containments expired at now (the zero time: none
// expired), so a cached list needs no copy to drop them.
func DecideAt(cs []Containment, now time.Time, model, version string, features map[string]any) Decision {
	var block, fall *Containment
	for i := range cs {
		c := &cs[i]
		if c.Model != model || !c.IsActive(now) || (c.Version != "" && c.Version != version) {
			continue
		}
		switch c.Action {
		case Disable:
			return Decision{Action: Disabled, Reason: c.Reason, ContainmentID: c.ID, ContainmentAction: c.Action}
		case BlockInputs:
			if block == nil && c.Match != nil && matches(c.Match, features) {
				block = c
			}
		case Fallback:
			if fall == nil && c.FallbackVersion != version {
				fall = c
			}
		}
	}
	switch {
	case block != nil:
		return Decision{Action: Blocked, Version: version, Reason: block.Reason, ContainmentID: block.ID, ContainmentAction: block.Action}
	case fall != nil:
		return Decision{Action: Fallen, Version: fall.FallbackVersion, Reason: fall.Reason, ContainmentID: fall.ID, ContainmentAction: fall.Action}
	}
	return Decision{Action: Serve, Version: version}
}

func matches(m *Match, features map[string]any) bool {
	if m.InputClass != "" {
		v, ok := features[InputClassFeature]
		return ok && text(v) == m.InputClass
	}
	v, ok := features[m.Feature]
	return ok && text(v) == m.Value
}

// text renders a feature value as a match compares it: strings as they are, numbers in
// their shortest form, booleans as true/false.
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
