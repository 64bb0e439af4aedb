// Package cli is the rulegen command line: generate, check, test and gate, as one function
// Run(ctx, args, stdin, stdout, stderr) so tests run the whole program in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"

	"github.com/opscentre/opscentre/rulegen/gate"
	"github.com/opscentre/opscentre/rulegen/internal/output"
	"github.com/opscentre/opscentre/rulegen/spec"
)

// ErrFailed is returned when a command ran but its verdict is negative (stale output,
// invalid spec, failed gate); the message has already been printed.
var ErrFailed = errors.New("rulegen: failed")

// Run runs rulegen with args (without the program name).
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	// Answered before parsing: kingpin's own --version would go on to ask for a command, since
	// Run never terminates the process.
	if len(args) == 1 && args[0] == "--version" {
		fmt.Fprintln(stdout, version.Print("rulegen"))
		return nil
	}
	app := kingpin.New("rulegen", "Compile an OpsCentre alert-tier spec into Prometheus rules, Alertmanager routes and promtool tests.")
	app.UsageWriter(stderr)
	app.ErrorWriter(stderr)
	// kingpin would exit the process after --help; Run returns instead, and an asked-for help
	// text is the whole answer (not followed by the flags a command would have required).
	helped := false
	app.Terminate(func(int) { helped = true })
	allowMissing := app.Flag("allow-missing-runbooks", "Treat alerts without a runbook as a warning instead of an error.").Bool()

	gen := app.Command("generate", "Generate rule files, the PrometheusRule resource, the Alertmanager fragment, promtool tests and the catalog.")
	genSpec := gen.Arg("spec", "Spec file (- for stdin).").Required().String()
	genOut := gen.Flag("output", "Output directory.").Short('o').Default("generated").String()
	genCheck := gen.Flag("check", "Do not write; exit non-zero and list differences when the output directory is stale.").Bool()

	chk := app.Command("check", "Validate the spec and every generated output.")
	chkSpec := chk.Arg("spec", "Spec file (- for stdin).").Required().String()
	chkFormat := chk.Flag("format", "Output format: text or github (workflow annotations).").Default("text").Enum("text", "github")

	tst := app.Command("test", "Run the generated promtool unit tests with promtool test rules.")
	tstSpec := tst.Arg("spec", "Spec file.").Required().String()
	tstPromtool := tst.Flag("promtool", "promtool binary.").Default("promtool").String()

	gt := app.Command("gate", "Judge a candidate model version against its baseline with the spec's gates, by statistics on Prometheus data.")
	gte := gt.Command("evaluate", "Evaluate once; exit 0 pass, 1 fail, 2 inconclusive, 3 could not evaluate (the default subcommand).").Default()
	gteFlags := addGateFlags(gte)
	gtModel := gte.Flag("model", "Model name.").Required().String()
	gtCand := gte.Flag("candidate", "Candidate version.").Required().String()
	gtBase := gte.Flag("baseline", "Baseline version.").Required().String()
	gtFormat := gte.Flag("format", "Report format: text, json or junit.").Default("text").Enum("text", "json", "junit")
	gts := gt.Command("serve", "Serve the gate over HTTP for Argo Rollouts (web metric provider) and Flagger (webhooks).")
	gtsFlags := addGateFlags(gts)
	gtsListen := gts.Flag("listen-address", "Address to listen on.").Default("127.0.0.1:9479").String()

	app.Command("presets", "List the presets and their params.")

	cmd, err := app.Parse(args)
	if helped {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rulegen: %w", err)
	}
	opts := spec.Options{AllowMissingRunbooks: *allowMissing}
	switch cmd {
	case gen.FullCommand():
		return generate(*genSpec, *genOut, *genCheck, opts, stdin, stdout, stderr)
	case chk.FullCommand():
		return check(*chkSpec, *chkFormat, opts, stdin, stdout, stderr)
	case tst.FullCommand():
		return runTests(ctx, *tstSpec, *tstPromtool, opts, stdin, stdout, stderr)
	case "presets":
		for _, name := range spec.PresetNames() {
			doc, params := spec.PresetDoc(name)
			keys := make([]string, 0, len(params))
			for k := range params {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = fmt.Sprintf("%s=%q", k, params[k])
			}
			fmt.Fprintf(stdout, "%s\n  %s\n  params: %s\n", name, doc, strings.Join(parts, " "))
			if h := spec.PresetEvidence(name); h != nil {
				fmt.Fprintf(stdout, "  evidence: causes=%s", strings.Join(h.Causes, ","))
				if len(h.Features) > 0 {
					fmt.Fprintf(stdout, " features=%s", strings.Join(h.Features, ","))
				}
				fmt.Fprintln(stdout)
			}
		}
		return nil
	case gte.FullCommand():
		return runGate(ctx, gteFlags, gate.Target{Model: *gtModel, Candidate: *gtCand, Baseline: *gtBase}, *gtFormat, opts, stdout, stderr)
	case gts.FullCommand():
		return runGateServe(ctx, gtsFlags, *gtsListen, opts, stderr)
	}
	return fmt.Errorf("rulegen: unknown command %q", cmd)
}

// stdinPath reports whether path means standard input. kingpin hands a lone "-" argument
// over as an empty string when the command has short flags, so both are accepted.
func stdinPath(path string) bool { return path == "-" || path == "" }

func readSpec(path string, stdin io.Reader) ([]byte, error) {
	if stdinPath(path) {
		if stdin == nil {
			return nil, errors.New("reading spec: no standard input")
		}
		return io.ReadAll(stdin)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading spec: %w", err)
	}
	return b, nil
}

// build parses and compiles a spec and hands every output file to sink, printing problems
// to w in the given format.
func build(path, format string, opts spec.Options, stdin io.Reader, w io.Writer, sink output.Sink) (output.Summary, error) {
	data, err := readSpec(path, stdin)
	if err != nil {
		return output.Summary{}, err
	}
	name := path
	if stdinPath(path) {
		name = "<stdin>"
	}
	s, problems := spec.Parse(name, data, opts)
	report(w, format, problems)
	if s == nil {
		return output.Summary{}, fmt.Errorf("%w: %d error(s) in %s", ErrFailed, len(problems.Fatal()), name)
	}
	sum, errs, err := output.Generate(s, filepath.Base(name), sink)
	if len(errs) > 0 {
		report(w, format, errs)
		return sum, fmt.Errorf("%w: %d error(s) in %s", ErrFailed, len(errs), name)
	}
	report(w, format, sum.Warnings)
	return sum, err
}

func report(w io.Writer, format string, problems spec.Errors) {
	for _, p := range problems {
		level := "error"
		if p.Warning {
			level = "warning"
		}
		if format == "github" {
			fmt.Fprintf(w, "::%s file=%s,line=%d,col=%d,title=%s::%s\n", level, p.Pos.File, p.Pos.Line, p.Pos.Column, p.Pos.Path, escapeGitHub(p.Msg))
			continue
		}
		fmt.Fprintf(w, "%s: %s: %s\n", p.Pos, level, p.Msg)
	}
}

// githubEscaper escapes a workflow command's message.
var githubEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")

func escapeGitHub(s string) string { return githubEscaper.Replace(s) }

func generate(path, dir string, checkOnly bool, opts spec.Options, stdin io.Reader, stdout, stderr io.Writer) error {
	if checkOnly {
		cmp, err := output.NewCompare(dir)
		if err != nil {
			return err
		}
		sum, err := build(path, "text", opts, stdin, stderr, cmp)
		if err != nil {
			return err
		}
		if diffs := cmp.Diffs(); len(diffs) > 0 {
			fmt.Fprintf(stderr, "%s is stale; run: rulegen generate %s -o %s\n", dir, path, dir)
			for _, d := range diffs {
				fmt.Fprintln(stderr, "  "+d)
			}
			return fmt.Errorf("%w: %d generated file(s) differ", ErrFailed, len(diffs))
		}
		fmt.Fprintf(stdout, "%s is up to date (%d files)\n", dir, sum.Files)
		return nil
	}
	sum, err := writeDir(path, dir, opts, stdin, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d files to %s\n", sum.Files, dir)
	return nil
}

// writeDir generates into dir; nothing in dir changes unless the whole spec compiles.
func writeDir(path, dir string, opts spec.Options, stdin io.Reader, stderr io.Writer) (output.Summary, error) {
	d, err := output.NewDir(dir)
	if err != nil {
		return output.Summary{}, err
	}
	sum, err := build(path, "text", opts, stdin, stderr, d)
	if err != nil {
		d.Abort()
		return sum, err
	}
	return sum, d.Commit()
}

func check(path, format string, opts spec.Options, stdin io.Reader, stdout, stderr io.Writer) error {
	sum, err := build(path, format, opts, stdin, stdout, output.Discard{})
	if err != nil {
		return err
	}
	if format == "text" {
		fmt.Fprintf(stdout, "%s: OK: %d alerts, %d rules, %d files\n", path, sum.Alerts, sum.Rules, sum.Files)
	}
	return nil
}

func runTests(ctx context.Context, path, promtool string, opts spec.Options, stdin io.Reader, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "rulegen-test-")
	if err != nil {
		return fmt.Errorf("creating temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	if _, err := writeDir(path, dir, opts, stdin, stderr); err != nil {
		return err
	}
	tests, err := filepath.Glob(filepath.Join(dir, "tests", "*.test.yml"))
	if err != nil {
		return fmt.Errorf("listing tests: %w", err)
	}
	sort.Strings(tests)
	cmd := exec.CommandContext(ctx, promtool, append([]string{"test", "rules"}, tests...)...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: promtool test rules: %v", ErrFailed, err)
	}
	return nil
}
