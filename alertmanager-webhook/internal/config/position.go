package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// pathRe matches the field path an error message starts with: a.b[0].c:
var pathRe = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*(?:\[[0-9]+\]|\.[A-Za-z0-9_.-]+)*)(: |\.)`)

// withLine adds the line of the field an error names ("channels[1].slack.url: …" becomes
// "channels[1].slack.url (line 14): …"), found in the document's node tree. Errors that
// already carry a line, or name no field found in the file, stay as they are.
func withLine(root *yaml.Node, err error) error {
	if err == nil || strings.Contains(err.Error(), "(line ") {
		return err
	}
	m := pathRe.FindStringSubmatch(err.Error())
	if m == nil || m[2] != ": " {
		return err
	}
	line := lineOf(root, m[1])
	if line == 0 {
		return err
	}
	return &lineError{msg: fmt.Sprintf("%s (line %d)%s", m[1], line, strings.TrimPrefix(err.Error(), m[1])), err: err}
}

type lineError struct {
	msg string
	err error
}

func (e *lineError) Error() string { return e.msg }
func (e *lineError) Unwrap() error { return e.err }

// lineOf walks a path like channels[1].slack.url through mapping keys and sequence
// indexes; 0 when the path is not in the file (a default).
func lineOf(n *yaml.Node, path string) int {
	var steps []any
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			steps = append(steps, name)
		}
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			i, err := strconv.Atoi(idx)
			if err != nil {
				return 0
			}
			steps = append(steps, i)
			rest = strings.TrimPrefix(after, "[")
		}
	}
	line := 0
	for _, st := range steps {
		var next *yaml.Node
		switch v := st.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == v {
						next = n.Content[i+1]
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && v < len(n.Content) {
				next = n.Content[v]
			}
		}
		if next == nil {
			return line
		}
		n, line = next, next.Line
	}
	return line
}
