package ops

import (
	_ "embed"
	"strings"
)

// coverageText is the table TestMain writes after a full test run of this
// package (`go test ./classify/gotf/internal/ops -update-ops`): one line per
// registered op, tab-separated, giving how its results are checked and the
// dtypes and layouts the checked cases exercise. A full run fails when the
// file is stale or when an op is registered without a checked case.
//
//go:embed coverage.txt
var coverageText string

// OpCoverage is what the tests check of one op.
type OpCoverage struct {
	Op string
	// Checked is how results are checked: "oracle" (goldens computed by
	// TensorFlow.js), "reference" (values written from TensorFlow's
	// documented semantics, for what the oracle lacks or gets wrong), or
	// "test: <tests>" naming the tests that check an op by hand (inside a
	// graph the engine runs, or with inputs the harness cannot feed), or
	// several of these joined by "+".
	Checked string
	// DTypes are the element types seen in checked cases' inputs and
	// outputs; Layouts the data_format values, when the op has one.
	DTypes  []string
	Layouts []string
}

// Coverage returns the table, sorted by op.
func Coverage() []OpCoverage {
	var out []OpCoverage
	for _, line := range strings.Split(strings.TrimSpace(coverageText), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, OpCoverage{Op: f[0], Checked: f[1], DTypes: fields(f[2]), Layouts: fields(f[3])})
	}
	return out
}

func fields(s string) []string {
	if s == "-" || s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
