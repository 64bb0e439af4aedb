package gate

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	p, f, i := r.Counts()
	var b strings.Builder
	fmt.Fprintf(&b, "gate %s: model %s, candidate %s vs baseline %s over %s (%s, alpha %g): %d pass, %d fail, %d inconclusive\n",
		strings.ToUpper(string(r.Verdict)), r.Model, r.Candidate, r.Baseline, r.Range, r.Method, r.Alpha, p, f, i)
	for _, c := range r.Criteria {
		fmt.Fprintf(&b, "  [%-12s] %-20s %s", c.Verdict, c.Name, c.Detail)
		if c.Estimate != nil && c.Interval != nil {
			fmt.Fprintf(&b, " [estimate %s, %s%% interval %s to %s]", spec4(*c.Estimate), pct(c.Level), spec4(c.Interval.Lower), spec4(c.Interval.Upper))
		}
		if c.Verdict == Inconclusive && c.SampleNeeded > 0 {
			fmt.Fprintf(&b, "; needs about %s more per version", fmtN(c.SampleNeeded))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as indented JSON (the decided contract: an overall "verdict"
// and per criterion its "estimate" and "interval").
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

type junitSuites struct {
	XMLName xml.Name   `xml:"testsuites"`
	Suites  []junitSut `xml:"testsuite"`
}

type junitSut struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Props     []junitProp `xml:"properties>property"`
	Cases     []junitCase `xml:"testcase"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML: a test case per criterion, a failed criterion as
// a failure and an inconclusive one as skipped, so CI systems show each with its numbers.
func (r *Report) WriteJUnit(w io.Writer) error {
	_, f, i := r.Counts()
	s := junitSut{Name: fmt.Sprintf("rulegen gate %s %s vs %s", r.Model, r.Candidate, r.Baseline), Tests: len(r.Criteria),
		Failures: f, Skipped: i, Timestamp: r.EvaluatedAt.Format("2006-01-02T15:04:05"),
		Props: []junitProp{{"verdict", string(r.Verdict)}, {"alpha", fmt.Sprint(r.Alpha)}, {"method", r.Method}, {"range", r.Range}}}
	for _, c := range r.Criteria {
		jc := junitCase{Name: c.Name, Classname: "rulegen.gate." + r.Model, SystemOut: summary(c)}
		switch c.Verdict {
		case Fail:
			jc.Failure = &junitMessage{Message: c.Detail, Type: "fail", Text: summary(c)}
		case Inconclusive:
			jc.Skipped = &junitMessage{Message: "inconclusive: " + c.Detail}
		}
		s.Cases = append(s.Cases, jc)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSut{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func summary(c Criterion) string {
	var b strings.Builder
	fmt.Fprintf(&b, "verdict=%s kind=%s", c.Verdict, c.Kind)
	if c.Estimate != nil {
		fmt.Fprintf(&b, " estimate=%s", spec4(*c.Estimate))
	}
	if c.Interval != nil {
		fmt.Fprintf(&b, " interval=[%s, %s] level=%s", spec4(c.Interval.Lower), spec4(c.Interval.Upper), spec4(c.Level))
	}
	if c.Margin != nil {
		fmt.Fprintf(&b, " margin=%s", spec4(*c.Margin))
	}
	if c.Limit != nil {
		fmt.Fprintf(&b, " limit=%s", spec4(*c.Limit))
	}
	if c.SampleNeeded > 0 {
		fmt.Fprintf(&b, " sample_needed=%s", fmtN(c.SampleNeeded))
	}
	return b.String()
}
