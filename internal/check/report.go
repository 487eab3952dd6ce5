package check

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// Summary counts the verdicts of a run.
type Summary struct {
	Pass    int `json:"pass"`
	Retries int `json:"retries"`
	Fail    int `json:"fail"`
}

// Summarize counts the verdicts of results.
func Summarize(results []Result) Summary {
	var s Summary
	for _, r := range results {
		switch r.Verdict {
		case Pass:
			s.Pass++
		case Retries:
			s.Retries++
		default:
			s.Fail++
		}
	}
	return s
}

// OK reports whether every case passed outright.
func (s Summary) OK() bool { return s.Retries == 0 && s.Fail == 0 }

// maxDiffs bounds the differences printed under a failed case.
const maxDiffs = 10

// WriteText writes one result as the report's lines: the verdict, the case
// and the reason in a sentence, then for a failure the rows and columns
// that differ and the deliveries that were answered wrongly.
func WriteText(w io.Writer, r Result) {
	line := fmt.Sprintf("%-8s %-21s %5s", r.Verdict, r.Case, r.Elapsed.Round(10*time.Millisecond))
	if r.Reason != "" {
		line += "  " + r.Reason
	}
	fmt.Fprintln(w, line)
	if r.Verdict == Fail {
		for _, s := range r.Sent {
			if !s.ok() {
				fmt.Fprintf(w, "         delivery: %s [%s]: %s\n", s.What, s.SvixID, attempts(s))
			}
		}
		for i, d := range r.Diffs {
			if i == maxDiffs {
				fmt.Fprintf(w, "         … and %d more differences (--output json lists them all)\n", len(r.Diffs)-maxDiffs)
				break
			}
			fmt.Fprintln(w, "         table:", d)
		}
	}
	if r.Cleanup != "" {
		fmt.Fprintln(w, "         cleanup:", r.Cleanup)
	}
}

// attempts sums up the answers to one delivery: "500 …, 500 …" or the
// last and a count.
func attempts(s Sent) string {
	switch n := len(s.Attempts); {
	case n == 0:
		return "never sent"
	case n == 1:
		return "answered " + answer(s.Attempts[0]) + ", expected " + s.Expect
	default:
		return fmt.Sprintf("%d attempts, last answered %s, expected %s", n, answer(s.Attempts[n-1]), s.Expect)
	}
}

// WriteSummary writes the last line of the text report.
func WriteSummary(w io.Writer, results []Result, elapsed time.Duration) {
	s := Summarize(results)
	fmt.Fprintf(w, "%d cases: %d pass, %d pass only through retries, %d fail (%s)\n", len(results), s.Pass, s.Retries, s.Fail, elapsed.Round(100*time.Millisecond))
}

// Report is the JSON report.
type Report struct {
	URL     string   `json:"url"`
	Table   string   `json:"table"`
	Summary Summary  `json:"summary"`
	Cases   []Result `json:"cases"`
	Skipped []Skip   `json:"skipped,omitempty"`
}

// Skip is a case left out because the mapping does not map a table it
// judges (the organization cases, for a users-only app).
type Skip struct {
	Case   string `json:"case"`
	Reason string `json:"reason"`
}

// WriteSkipped writes one line per reason, naming the cases skipped for it.
func WriteSkipped(w io.Writer, skipped []Skip) {
	var reasons []string
	byReason := map[string][]string{}
	for _, s := range skipped {
		if byReason[s.Reason] == nil {
			reasons = append(reasons, s.Reason)
		}
		byReason[s.Reason] = append(byReason[s.Reason], s.Case)
	}
	for _, r := range reasons {
		fmt.Fprintf(w, "%-8s %s: %s\n", "skipped", strings.Join(byReason[r], ", "), r)
	}
}

// WriteJSON writes the whole run as one indented JSON object.
func WriteJSON(w io.Writer, rep Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// The JUnit XML that CI systems read (GitHub, GitLab, Jenkins).
type (
	junitSuites struct {
		XMLName xml.Name   `xml:"testsuites"`
		Suites  []junitRun `xml:"testsuite"`
	}
	junitRun struct {
		Name     string      `xml:"name,attr"`
		Tests    int         `xml:"tests,attr"`
		Failures int         `xml:"failures,attr"`
		Skipped  int         `xml:"skipped,attr,omitempty"`
		Time     string      `xml:"time,attr"`
		Cases    []junitCase `xml:"testcase"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		ClassName string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitFailure `xml:"failure"`
		Skipped   *junitSkipped `xml:"skipped"`
	}
	junitSkipped struct {
		Message string `xml:"message,attr"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
)

// WriteJUnit writes the results as JUnit XML: a case that passes only
// through retries is a failure of type "retries", and a case skipped is a
// test case marked skipped, with the reason.
func WriteJUnit(w io.Writer, results []Result, skipped []Skip, elapsed time.Duration) error {
	run := junitRun{Name: "mockclerk check", Tests: len(results) + len(skipped), Skipped: len(skipped), Time: seconds(elapsed)}
	for _, r := range results {
		c := junitCase{Name: r.Case, ClassName: "mockclerk.check", Time: seconds(r.Elapsed)}
		if r.Verdict != Pass {
			run.Failures++
			var text strings.Builder
			WriteText(&text, r)
			c.Failure = &junitFailure{Message: r.Reason, Type: string(r.Verdict), Text: text.String()}
		}
		run.Cases = append(run.Cases, c)
	}
	for _, sk := range skipped {
		run.Cases = append(run.Cases, junitCase{Name: sk.Case, ClassName: "mockclerk.check", Time: seconds(0), Skipped: &junitSkipped{Message: sk.Reason}})
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitRun{run}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
