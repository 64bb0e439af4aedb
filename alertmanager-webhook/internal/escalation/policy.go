package escalation

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/oncall"
)

// PolicyConfig is an escalation policy as written in the YAML.
type PolicyConfig struct {
	Name string `yaml:"name"`
	// Repeat is how many times the whole list of steps runs (default 1).
	Repeat int `yaml:"repeat"`
	// RepeatAfter is the wait before the first step of a repeat (default 15m).
	RepeatAfter model.Duration `yaml:"repeat_after"`
	Steps       []StepConfig   `yaml:"steps"`
}

// StepConfig notifies targets after Delay (counted from the previous step; the first
// step's delay from the start of paging) if the incident is still unacknowledged.
type StepConfig struct {
	Delay   model.Duration `yaml:"delay"`
	Targets []Target       `yaml:"targets"`
}

// Target is exactly one of: the on-call member of a schedule, a person, a channel.
type Target struct {
	Schedule string `yaml:"schedule"`
	Person   string `yaml:"person"`
	Channel  string `yaml:"channel"`
}

// Policy is a compiled policy.
type Policy struct {
	Name        string
	Repeat      int
	RepeatAfter time.Duration
	Steps       []StepConfig
}

// CompilePolicies validates policies against the schedules, people and channels.
func CompilePolicies(ps []PolicyConfig, dir *oncall.Directory, people map[string][]string, channels map[string]bool) (map[string]Policy, error) {
	out := map[string]Policy{}
	for i, p := range ps {
		at := fmt.Sprintf("escalation_policies[%d]", i)
		if p.Name == "" {
			return nil, fmt.Errorf("%s.name: required", at)
		}
		if _, dup := out[p.Name]; dup {
			return nil, fmt.Errorf("%s.name: policy %q is defined twice", at, p.Name)
		}
		if len(p.Steps) == 0 {
			return nil, fmt.Errorf("%s.steps: at least one step", at)
		}
		if p.Repeat < 0 || p.Repeat > 20 {
			return nil, fmt.Errorf("%s.repeat: 0 to 20", at)
		}
		pol := Policy{Name: p.Name, Repeat: max(p.Repeat, 1), RepeatAfter: time.Duration(p.RepeatAfter), Steps: p.Steps}
		if pol.RepeatAfter <= 0 {
			pol.RepeatAfter = 15 * time.Minute
		}
		for si, s := range p.Steps {
			if s.Delay < 0 {
				return nil, fmt.Errorf("%s.steps[%d].delay: must not be negative", at, si)
			}
			if len(s.Targets) == 0 {
				return nil, fmt.Errorf("%s.steps[%d].targets: at least one target", at, si)
			}
			for ti, t := range s.Targets {
				tp := fmt.Sprintf("%s.steps[%d].targets[%d]", at, si, ti)
				n := 0
				for _, v := range []string{t.Schedule, t.Person, t.Channel} {
					if v != "" {
						n++
					}
				}
				if n != 1 {
					return nil, fmt.Errorf("%s: exactly one of schedule, person, channel", tp)
				}
				switch {
				case t.Schedule != "":
					if _, ok := dir.Schedule(t.Schedule); !ok {
						return nil, fmt.Errorf("%s.schedule: no schedule %q under oncall.teams (write team/schedule if the name is shared)", tp, t.Schedule)
					}
				case t.Person != "":
					if len(people[t.Person]) == 0 {
						return nil, fmt.Errorf("%s.person: %q has no channels under people", tp, t.Person)
					}
				case !channels[t.Channel]:
					return nil, fmt.Errorf("%s.channel: no channel %q under channels", tp, t.Channel)
				}
			}
		}
		out[p.Name] = pol
	}
	return out, nil
}
