package spec

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// decoder walks yaml.v3 nodes by hand instead of unmarshalling into structs, so every
// error can name the exact line, column and YAML path of the value that caused it, and
// unknown keys are rejected at their own position.
type decoder struct {
	file string
	errs Errors
}

func (d *decoder) pos(n *yaml.Node, path string) Pos {
	p := Pos{File: d.file, Path: path}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	return p
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{Pos: d.pos(n, path), Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) warnf(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{Pos: d.pos(n, path), Msg: fmt.Sprintf(format, args...), Warning: true})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("the scalar %q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

// resolve follows aliases so anchors in specs work like plain values.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// fields is the set of keys a mapping accepts, each with the function that decodes its value.
type fields map[string]func(n *yaml.Node, path string)

// mapping decodes a mapping node, reporting unknown and duplicate keys with their positions.
func (d *decoder) mapping(n *yaml.Node, path string, fs fields) bool {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", kindName(n))
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		kp := join(path, key)
		if seen[key] {
			d.errorf(k, kp, "duplicate key %q", key)
			continue
		}
		seen[key] = true
		f, ok := fs[key]
		if !ok {
			d.errorf(k, kp, "unknown key %q; expected one of: %s", key, strings.Join(sortedKeys(fs), ", "))
			continue
		}
		f(v, kp)
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (d *decoder) scalar(n *yaml.Node, path string) (string, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, path, "expected a string, got %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(dst *string) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		if s, ok := d.scalar(n, path); ok {
			*dst = s
		}
	}
}

func (d *decoder) strPos(dst *string, pos *Pos) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		if s, ok := d.scalar(n, path); ok {
			*dst = s
			*pos = d.pos(resolve(n), path)
		}
	}
}

func (d *decoder) number(dst *float64, set *bool) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		s, ok := d.scalar(n, path)
		if !ok {
			return
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(n, path, "expected a finite number, got %q", s)
			return
		}
		*dst = f
		if set != nil {
			*set = true
		}
	}
}

// duration parses Prometheus durations (1d, 1w, 90s, 1h30m); negative values are an error.
func (d *decoder) duration(dst *time.Duration, set *bool) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		s, ok := d.scalar(n, path)
		if !ok {
			return
		}
		if strings.HasPrefix(strings.TrimSpace(s), "-") {
			d.errorf(n, path, "negative duration %q; expected a duration >= 0 such as 5m or 1h", s)
			return
		}
		v, err := model.ParseDuration(s)
		if err != nil {
			d.errorf(n, path, "invalid duration %q; expected a Prometheus duration such as 30s, 5m, 1h, 7d", s)
			return
		}
		*dst = time.Duration(v)
		if set != nil {
			*set = true
		}
	}
}

func (d *decoder) stringList(dst *[]string) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		n = resolve(n)
		if n == nil || n.Kind != yaml.SequenceNode {
			d.errorf(n, path, "expected a list of strings, got %s", kindName(n))
			return
		}
		out := []string{}
		for i, c := range n.Content {
			if s, ok := d.scalar(c, index(path, i)); ok {
				out = append(out, s)
			}
		}
		*dst = out
	}
}

func (d *decoder) stringMap(dst *map[string]string) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		n = resolve(n)
		if n == nil || n.Kind != yaml.MappingNode {
			d.errorf(n, path, "expected a mapping of strings, got %s", kindName(n))
			return
		}
		out := map[string]string{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := out[k]; dup {
				d.errorf(n.Content[i], join(path, k), "duplicate key %q", k)
				continue
			}
			if s, ok := d.scalar(n.Content[i+1], join(path, k)); ok {
				out[k] = s
			}
		}
		*dst = out
	}
}

func (d *decoder) list(n *yaml.Node, path string, each func(n *yaml.Node, path string)) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "expected a list, got %s", kindName(n))
		return
	}
	for i, c := range n.Content {
		each(c, index(path, i))
	}
}
