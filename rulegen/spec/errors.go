package spec

import (
	"fmt"
	"sort"
	"strings"
)

// Pos locates a value in a spec file: the file, its 1-based line and column, and the YAML path
// from the document root (for example `alerts[3].threshold.for`).
type Pos struct {
	File   string
	Line   int
	Column int
	Path   string
}

func (p Pos) String() string {
	loc := p.File
	if loc == "" {
		loc = "<spec>"
	}
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", loc, p.Line, p.Column)
	}
	if p.Path != "" {
		return loc + ": " + p.Path
	}
	return loc
}

// Error is one problem found in a spec, with the position of the offending value.
type Error struct {
	Pos Pos
	Msg string
	// Warning marks problems that do not stop generation (for example a missing runbook
	// under --allow-missing-runbooks).
	Warning bool
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errors is every problem found in a spec, sorted by position. It implements error so
// callers that only need a yes/no can treat it as one.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Fatal returns the errors that are not warnings.
func (es Errors) Fatal() Errors {
	var out Errors
	for _, e := range es {
		if !e.Warning {
			out = append(out, e)
		}
	}
	return out
}

// Warnings returns the warnings only.
func (es Errors) Warnings() Errors {
	var out Errors
	for _, e := range es {
		if e.Warning {
			out = append(out, e)
		}
	}
	return out
}

func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Pos, es[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}
