package gotf

import (
	"sort"

	"github.com/classifyd/classifyd/classify/gotf/internal/ops"
)

// OpInfo describes one op type the Go engine runs and how the project's
// tests check it.
type OpInfo struct {
	Op string
	// Checked is "oracle" (goldens TensorFlow.js computed), "reference"
	// (values written from TensorFlow's documented semantics), or "test:"
	// followed by the tests that check it inside a graph the engine runs;
	// several joined by "+".
	Checked string
	// DTypes and Layouts are the element types and data_format values the
	// checked cases exercise (nil when the op has none of its own).
	DTypes, Layouts []string
}

// engineOps are the op types the engine handles itself rather than through
// a kernel: graph inputs and constants, variables bound at load, function
// calls inlined at load and functional control flow run by the executor.
var engineOps = map[string]string{
	"Const":                   "every golden graph",
	"Placeholder":             "every golden graph; TestLegacyScalarPlaceholder",
	"PartitionedCall":         "TestSavedModelHalfPlus (TF2), function_golden_test.go",
	"StatefulPartitionedCall": "TestSavedModelHalfPlus (TF2), TestSavedModelCounter",
	"While":                   "TestWhileCounting, TestWhileTensorList, TestWhileConcurrent",
	"StatelessWhile":          "TestWhileCounting, TestWhileTensorList",
	"If":                      "TestIfAndCase",
	"StatelessIf":             "TestIfAndCase",
	"Case":                    "TestIfAndCase",
	"StatelessCase":           "TestIfAndCase",
	"VariableV2":              "TestSavedModelHalfPlus (TF1), TestFreezeSavedModel",
	"Variable":                "TestSavedModelHalfPlus (TF1)",
	"VarHandleOp":             "TestSavedModelHalfPlus (TF2), TestSavedModelCounter",
	"ReadVariableOp":          "TestSavedModelHalfPlus (TF2), TestSavedModelCounter",
	"ResourceGather":          "TestResourceGather",
	"AssignVariableOp":        "TestSavedModelCounter",
	// TF1 dataflow control flow, rewritten into While and If at load
	// (functionalize.go).
	"Enter":               "TestTF1ControlFlowGoldens, TestTF1NestedLoops",
	"Exit":                "TestTF1ControlFlowGoldens, TestTF1NestedLoops",
	"NextIteration":       "TestTF1ControlFlowGoldens, TestTF1NestedLoops",
	"LoopCond":            "TestTF1ControlFlowGoldens, TestTF1NestedLoops",
	"Switch":              "TestTF1ControlFlowGoldens, TestTF1CondTwoResults, TestTF1NestedConds",
	"Merge":               "TestTF1ControlFlowGoldens, TestTF1CondTwoResults, TestTF1NestedConds",
	"RefEnter":            "TestTF1RefControlFlow",
	"RefExit":             "TestTF1RefControlFlow",
	"RefSwitch":           "TestTF1RefControlFlow",
	"RefMerge":            "TestTF1RefControlFlow",
	"RefNextIteration":    "TestTF1RefControlFlow",
	"AssignAddVariableOp": "TestSavedModelCounter",
	"AssignSubVariableOp": "TestControlDependentWrite",
}

// Ops lists every op type the Go engine accepts, sorted: its kernels with
// what their tests check (a test run fails when a kernel has no checked
// case), and the ops it handles itself.
func Ops() []OpInfo {
	var out []OpInfo
	for _, c := range ops.Coverage() {
		out = append(out, OpInfo{Op: c.Op, Checked: c.Checked, DTypes: c.DTypes, Layouts: c.Layouts})
	}
	for op, tests := range engineOps {
		out = append(out, OpInfo{Op: op, Checked: "test: " + tests})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Op < out[j].Op })
	return out
}
