package gotf

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/ops"
	"github.com/classifyd/classifyd/internal/graphdef"
	"github.com/classifyd/classifyd/savedmodel"
)

func servingModel(t *testing.T, name string) string {
	t.Helper()
	d := os.Getenv("TEST_SAVEDMODELS_DIR")
	if d == "" {
		t.Skip("TEST_SAVEDMODELS_DIR is unset; set it to the folder of TF Serving's test SavedModels (CI: ../shared/savedmodels)")
	}
	return filepath.Join(d, name)
}

func TestSavedModelHalfPlus(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		dir    string
		sig    string
		in     string
		shape  classify.Shape
		offset float32
	}{
		{"saved_model_half_plus_two_cpu", "serving_default", "x", classify.Shape{3, 1}, 2},
		{"saved_model_half_plus_two_cpu", "regress_x2_to_y3", "inputs", classify.Shape{3, 1}, 3},
		{"saved_model_half_plus_three", "serving_default", "x", classify.Shape{3, 1}, 3},
		{"saved_model_half_plus_two_2_versions", "serving_default", "x", classify.Shape{3, 1}, 2},
		{"saved_model_half_plus_two_tf2_cpu", "serving_default", "x", classify.Shape{1}, 2},
	} {
		t.Run(tc.dir+"/"+tc.sig, func(t *testing.T) {
			m, err := OpenSavedModel(ctx, servingModel(t, tc.dir), SavedModelOptions{Signature: tc.sig})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			for _, xs := range [][]float32{{1, 2, 5}} {
				var batches [][]float32
				if tc.shape.NumElements() == 3 {
					batches = [][]float32{xs}
				} else {
					for _, x := range xs {
						batches = append(batches, []float32{x})
					}
				}
				for _, b := range batches {
					out, err := m.Run(ctx, map[string]*classify.Tensor{tc.in: classify.FromFloat32(b, tc.shape...)}, nil)
					if err != nil {
						t.Fatal(err)
					}
					got := out[0].Float32s()
					for i, x := range b {
						if want := 0.5*x + tc.offset; got[i] != want {
							t.Errorf("x=%v: got %v, want %v", x, got[i], want)
						}
					}
				}
			}
		})
	}
}

// Every signature of the TF Serving models compiles; read-only variables
// became constants, written ones stay variable reads.
func TestSavedModelSignaturesLoad(t *testing.T) {
	for _, tc := range []struct{ dir, sig string }{
		{"saved_model_half_plus_two_cpu", ""},
		{"saved_model_half_plus_two_tf2_cpu", ""},
		{"saved_model_counter", "get_counter"},
	} {
		m, err := OpenSavedModel(context.Background(), servingModel(t, tc.dir), SavedModelOptions{Signature: tc.sig})
		if err != nil {
			t.Fatal(err)
		}
		for k, sg := range m.sigs {
			if sg.err != nil {
				t.Errorf("%s: %s: %v", tc.dir, k, sg.err)
				continue
			}
			reads := sg.model.Info().Ops[ops.ReadVariable]
			if want := tc.dir == "saved_model_counter" && k == "get_counter"; (reads > 0) != want {
				t.Errorf("%s: %s: %d variable reads left; want them only for the counter", tc.dir, k, reads)
			}
		}
		if m.writes != (tc.dir == "saved_model_counter") {
			t.Errorf("%s: writes = %v", tc.dir, m.writes)
		}
	}
}

func scalarF32(m map[string]*classify.Tensor, k string) float32 {
	if t := m[k]; t != nil && len(t.Float32s()) == 1 {
		return t.Float32s()[0]
	}
	return -1e9
}

func TestSavedModelCounter(t *testing.T) {
	ctx := context.Background()
	m, err := OpenSavedModel(ctx, servingModel(t, "saved_model_counter"), SavedModelOptions{Signature: "get_counter"})
	if err != nil {
		t.Fatal(err)
	}
	run := func(sig string, in map[string]*classify.Tensor) float32 {
		t.Helper()
		out, err := m.RunSignature(ctx, sig, in)
		if err != nil {
			t.Fatal(err)
		}
		return scalarF32(out, "output")
	}
	if got := run("get_counter", nil); got != 0 {
		t.Fatalf("initial counter %v, want 0 (the checkpoint)", got)
	}
	for i := 1; i <= 3; i++ {
		if got := run("incr_counter", nil); got != float32(i) {
			t.Errorf("incr_counter #%d gave %v", i, got)
		}
	}
	if got := run("get_counter", nil); got != 3 {
		t.Errorf("get_counter after 3 increments: %v", got)
	}
	delta := &classify.Tensor{DType: classify.Float32, Shape: classify.Shape{}, Data: []float32{10}}
	if got := run("incr_counter_by", map[string]*classify.Tensor{"delta": delta}); got != 13 {
		t.Errorf("incr_counter_by 10: %v", got)
	}
	if got := run("reset_counter", nil); got != 0 {
		t.Errorf("reset_counter: %v", got)
	}
	// Concurrent increments are serialised: none is lost.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := m.RunSignature(ctx, "incr_counter", nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := run("get_counter", nil); got != 20 {
		t.Errorf("after 20 concurrent increments: %v", got)
	}
	// A fresh load starts from the checkpoint again: state is per model.
	m2, err := OpenSavedModel(ctx, servingModel(t, "saved_model_counter"), SavedModelOptions{Signature: "get_counter"})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := m2.RunSignature(ctx, "get_counter", nil); err != nil || scalarF32(out, "output") != 0 {
		t.Errorf("second model: %v, %v", out, err)
	}
}

func TestSavedModelExamples(t *testing.T) {
	ctx := context.Background()
	exs, err := savedmodel.ParseExamples(`[{"x":[1.0]},{"x":[2.0]},{"x":[5.0]}]`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dir, sig, out string }{
		{"saved_model_half_plus_two_cpu", "regress_x_to_y", "outputs"},
		{"saved_model_half_plus_two_cpu", "classify_x_to_y", "scores"},
		{"saved_model_half_plus_two_tf2_cpu", "regress_x_to_y", "outputs"},
	} {
		t.Run(tc.dir+"/"+tc.sig, func(t *testing.T) {
			m, err := OpenSavedModel(ctx, servingModel(t, tc.dir), SavedModelOptions{Signature: tc.sig})
			if err != nil {
				t.Fatal(err)
			}
			in := &classify.Tensor{DType: classify.String, Shape: classify.Shape{3}, Data: exs}
			res, err := m.RunSignature(ctx, tc.sig, map[string]*classify.Tensor{"inputs": in})
			if err != nil {
				t.Fatal(err)
			}
			got := res[tc.out]
			if got == nil || !got.Shape.Equal(classify.Shape{3, 1}) {
				t.Fatalf("%s = %v", tc.out, got)
			}
			for i, want := range []float32{2.5, 3, 4.5} {
				if got.Float32s()[i] != want {
					t.Errorf("%s[%d] = %v, want %v", tc.out, i, got.Float32s()[i], want)
				}
			}
		})
	}
}

func TestSavedModelErrors(t *testing.T) {
	ctx := context.Background()
	dir := servingModel(t, "saved_model_half_plus_two_cpu")
	if _, err := OpenSavedModel(ctx, dir, SavedModelOptions{Signature: "nope"}); !errors.Is(err, classify.ErrInvalidInput) || !strings.Contains(err.Error(), "serving_default") {
		t.Errorf("unknown signature: %v", err)
	}
	if _, err := OpenSavedModel(ctx, dir, SavedModelOptions{Tags: []string{"train"}}); !errors.Is(err, savedmodel.ErrNotFound) || !strings.Contains(err.Error(), `"serve"`) {
		t.Errorf("unknown tag set: %v", err)
	}
	m, err := New().Open(ctx, dir, classify.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	info := m.Info()
	if info.Signature != "serving_default" || len(info.Inputs) != 1 || info.Inputs[0].Name != "x" || info.Outputs[0].Name != "y" || !info.Inputs[0].Shape.Equal(classify.Shape{-1, 1}) {
		t.Errorf("Info = %+v", info)
	}
	if _, err := m.Run(ctx, map[string]*classify.Tensor{"x:0": classify.FromFloat32([]float32{1}, 1, 1)}, nil); !errors.Is(err, classify.ErrInvalidInput) {
		t.Errorf("feeding a tensor name instead of a key: %v", err)
	}
	m.Close()
	if _, err := m.Run(ctx, map[string]*classify.Tensor{"x": classify.FromFloat32([]float32{1}, 1, 1)}, nil); !errors.Is(err, classify.ErrModelUnavailable) {
		t.Errorf("run after close: %v", err)
	}
}

// A write reached only through a control input (as a TF2 function's
// control_ret is) still runs, before the read that waits for it.
func TestControlDependentWrite(t *testing.T) {
	b := graphdef.New()
	f32 := classify.Float32
	b.Op("VarHandleOp", "v", nil, graphdef.Attrs{"dtype": f32, "shape": classify.Shape{}})
	one := b.Const("one", &classify.Tensor{DType: f32, Shape: classify.Shape{}, Data: []float32{1}})
	b.Op("AssignAddVariableOp", "inc", []graphdef.Output{"v", one}, graphdef.Attrs{"dtype": f32})
	b.Op("ReadVariableOp", "read", []graphdef.Output{"v", "^inc"}, graphdef.Attrs{"dtype": f32})
	b.Op("Identity", "out", []graphdef.Output{"read"}, graphdef.Attrs{"T": f32})
	gd := b.GraphDef()
	if _, err := bindVariables(gd); err != nil {
		t.Fatal(err)
	}
	vars := ops.NewVariables()
	vars.Set("v", &classify.Tensor{DType: f32, Shape: classify.Shape{}, Data: []float32{0}})
	m, err := loadWith(context.Background(), gd, classify.OpenOptions{Outputs: []string{"out"}}, loadConfig{fuse: true}, vars.Builders())
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		out, err := m.Run(context.Background(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := out[0].Float32s()[0]; got != float32(i) {
			t.Errorf("run %d read %v, want %d", i, got, i)
		}
	}
}

// Init ops run once at load: TF2's __saved_model_init_op stores the asset
// path in its variable, TF1's main_op assigns filename_tensor.
func TestSavedModelInitOps(t *testing.T) {
	for _, tc := range []struct{ dir, v string }{
		{"saved_model_half_plus_two_tf2_cpu", "Variable"},
		{"saved_model_half_plus_two_cpu", "filename_tensor"},
	} {
		m, err := OpenSavedModel(context.Background(), servingModel(t, tc.dir), SavedModelOptions{})
		if err != nil {
			t.Fatal(err)
		}
		v, ok := m.vars.Get(tc.v)
		if !ok || v.DType != classify.String || !strings.HasSuffix(string(v.Data.([][]byte)[0]), "foo.txt") {
			t.Errorf("%s: %s = %v, %v; want the asset path", tc.dir, tc.v, v, ok)
		}
	}
}

// A frozen signature is a plain GraphDef: no variable ops are left and it
// computes what the SavedModel does, also after a binary round trip.
func TestFreezeSavedModel(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		dir, sig, in, out string
		want              float32
	}{
		{"saved_model_half_plus_two_cpu", "serving_default", "x:0", "y:0", 4},
		{"saved_model_half_plus_two_tf2_cpu", "regress_x2_to_y3", "regress_x2_to_y3_inputs:0", "StatefulPartitionedCall_2:0", 5},
	} {
		gd, err := FreezeSavedModel(ctx, servingModel(t, tc.dir), nil, tc.sig)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range gd.GetNode() {
			if n.GetOp() == ops.ReadVariable || n.GetOp() == ops.AssignVariable || strings.Contains(n.GetOp(), "Variable") || n.GetOp() == "RestoreV2" {
				t.Errorf("%s: node %q (%s) left in the frozen graph", tc.dir, n.GetName(), n.GetOp())
			}
		}
		data, err := proto.Marshal(gd)
		if err != nil {
			t.Fatal(err)
		}
		gd2, err := ParseGraphDef(data, false)
		if err != nil {
			t.Fatal(err)
		}
		m, err := OpenGraph(ctx, gd2, classify.OpenOptions{Inputs: []string{tc.in}, Outputs: []string{tc.out}})
		if err != nil {
			t.Fatal(err)
		}
		shape := m.Info().Inputs[0].Shape.Clone()
		for i := range shape {
			if shape[i] < 0 {
				shape[i] = 1
			}
		}
		out, err := m.Run(ctx, map[string]*classify.Tensor{tc.in: classify.FromFloat32([]float32{4}, shape...)}, []string{tc.out})
		if err != nil {
			t.Fatal(err)
		}
		if got := out[0].Float32s()[0]; got != tc.want {
			t.Errorf("%s: frozen graph gave %v on x=4, want %v", tc.dir, got, tc.want)
		}
	}
	if _, err := FreezeSavedModel(ctx, servingModel(t, "saved_model_counter"), nil, "incr_counter"); !errors.Is(err, classify.ErrInvalidInput) {
		t.Errorf("freezing a writing signature: %v", err)
	}
}

// ResourceGather (an Embedding lookup) reads rows of the variable; with the
// variable read-only it folds into a constant gather.
func TestResourceGather(t *testing.T) {
	b := graphdef.New()
	f32 := classify.Float32
	b.Op("VarHandleOp", "emb", nil, graphdef.Attrs{"dtype": f32, "shape": classify.Shape{3, 2}})
	ids := b.Placeholder("ids", classify.Int32, classify.Shape{2})
	b.Op("ResourceGather", "lookup", []graphdef.Output{"emb", ids}, graphdef.Attrs{"dtype": f32, "Tindices": classify.Int32})
	gd := b.GraphDef()
	if _, err := bindVariables(gd); err != nil {
		t.Fatal(err)
	}
	vars := ops.NewVariables()
	vars.Set("emb", classify.FromFloat32([]float32{0, 1, 10, 11, 20, 21}, 3, 2))
	constify(gd, vars, nil)
	m, err := loadWith(context.Background(), gd, classify.OpenOptions{Outputs: []string{"lookup"}}, loadConfig{fuse: true}, vars.Builders())
	if err != nil {
		t.Fatal(err)
	}
	in := &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{2}, Data: []int32{2, 0}}
	out, err := m.Run(context.Background(), map[string]*classify.Tensor{"ids": in}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Float32s(); !out[0].Shape.Equal(classify.Shape{2, 2}) || got[0] != 20 || got[1] != 21 || got[2] != 0 || got[3] != 1 {
		t.Errorf("lookup = %v %v, want [2 2] [20 21 0 1]", out[0].Shape, got)
	}
	if n := m.Info().Ops[ops.ReadVariable]; n != 0 {
		t.Errorf("%d variable reads left after constify", n)
	}
}

// Info says which SavedModel is served: the newest version folder of a TF
// Serving base path, or the directory itself (version -1) when it is named
// directly.
func TestSavedModelInfoVersion(t *testing.T) {
	base := servingModel(t, "saved_model_half_plus_two_2_versions")
	for _, tc := range []struct {
		dir     string
		wantDir string
		version int64
	}{
		{base, filepath.Join(base, "00000124"), 124},
		{filepath.Join(base, "00000123"), filepath.Join(base, "00000123"), -1},
	} {
		m, err := New().Open(context.Background(), tc.dir, classify.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		sm := m.Info().SavedModel
		if sm == nil {
			t.Fatalf("%s: Info().SavedModel is nil", tc.dir)
		}
		wantDir, _ := filepath.Abs(tc.wantDir)
		if sm.Dir != wantDir || sm.Version != tc.version || strings.Join(sm.Tags, ",") != "serve" || sm.Method != "tensorflow/serving/predict" {
			t.Errorf("%s: SavedModel = %+v, want dir %s version %d tags serve, predict", tc.dir, sm, wantDir, tc.version)
		}
	}
	g, err := New().Open(context.Background(), filepath.Join("..", "..", "models", "color", "color.pb"), classify.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.Info().SavedModel != nil {
		t.Errorf("a frozen graph has SavedModel info %+v", g.Info().SavedModel)
	}
}

// Every assignment op, TF2 (on a resource handle) and TF1 (on a VariableV2
// ref), changes the model's variable as TensorFlow does, run after run.
func TestAssignOps(t *testing.T) {
	f32 := classify.Float32
	for _, c := range []struct {
		op, variable string
		want         func(run int) float32 // the value read after run
	}{
		{"AssignVariableOp", "VarHandleOp", func(int) float32 { return 3 }},
		{"AssignAddVariableOp", "VarHandleOp", func(i int) float32 { return 10 + 3*float32(i) }},
		{"AssignSubVariableOp", "VarHandleOp", func(i int) float32 { return 10 - 3*float32(i) }},
		{"Assign", "VariableV2", func(int) float32 { return 3 }},
		{"AssignAdd", "VariableV2", func(i int) float32 { return 10 + 3*float32(i) }},
		{"AssignSub", "VariableV2", func(i int) float32 { return 10 - 3*float32(i) }},
	} {
		t.Run(c.op, func(t *testing.T) {
			b := graphdef.New()
			attrs := graphdef.Attrs{"dtype": f32, "shape": classify.Shape{}}
			b.Op(c.variable, "v", nil, attrs)
			three := b.Const("three", &classify.Tensor{DType: f32, Shape: classify.Shape{}, Data: []float32{3}})
			if c.variable == "VarHandleOp" {
				b.Op(c.op, "write", []graphdef.Output{"v", three}, graphdef.Attrs{"dtype": f32})
				b.Op("ReadVariableOp", "read", []graphdef.Output{"v", "^write"}, graphdef.Attrs{"dtype": f32})
			} else {
				b.Op(c.op, "write", []graphdef.Output{"v", three}, graphdef.Attrs{"T": f32})
				b.Op("Identity", "read", []graphdef.Output{"v", "^write"}, graphdef.Attrs{"T": f32})
			}
			b.Op("Identity", "out", []graphdef.Output{"read"}, graphdef.Attrs{"T": f32})
			gd := b.GraphDef()
			if _, err := bindVariables(gd); err != nil {
				t.Fatal(err)
			}
			vars := ops.NewVariables()
			vars.Set("v", &classify.Tensor{DType: f32, Shape: classify.Shape{}, Data: []float32{10}})
			m, err := loadWith(context.Background(), gd, classify.OpenOptions{Outputs: []string{"out"}}, loadConfig{fuse: true}, vars.Builders())
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 3; i++ {
				out, err := m.Run(context.Background(), nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				if got := out[0].Float32s()[0]; got != c.want(i) {
					t.Errorf("run %d read %v, want %v", i, got, c.want(i))
				}
			}
		})
	}
}

// A scatter into a variable, TF1 (ScatterAdd on a VariableV2 ref, whose
// output is the new value) and TF2 (ResourceScatterAdd on a handle, read
// after it), updates the variable run after run.
func TestScatterIntoVariables(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	for _, c := range []struct{ op, variable string }{
		{"ScatterAdd", "VariableV2"},
		{"ResourceScatterAdd", "VarHandleOp"},
		{"ScatterNdUpdate", "VariableV2"},
	} {
		t.Run(c.op, func(t *testing.T) {
			b := graphdef.New()
			b.Op(c.variable, "v", nil, graphdef.Attrs{"dtype": f32, "shape": classify.Shape{3}})
			shape := classify.Shape{2}
			if c.op == "ScatterNdUpdate" {
				shape = classify.Shape{2, 1}
			}
			idx := b.Const("idx", &classify.Tensor{DType: i32, Shape: shape, Data: []int32{2, 0}})
			upd := b.Const("upd", classify.FromFloat32([]float32{1, 5}, 2))
			if c.variable == "VarHandleOp" {
				b.Op(c.op, "write", []graphdef.Output{"v", idx, upd}, graphdef.Attrs{"dtype": f32, "Tindices": i32})
				b.Op("ReadVariableOp", "out", []graphdef.Output{"v", "^write"}, graphdef.Attrs{"dtype": f32})
			} else {
				b.Op(c.op, "write", []graphdef.Output{"v", idx, upd}, graphdef.Attrs{"T": f32, "Tindices": i32})
				b.Op("Identity", "out", []graphdef.Output{"write"}, graphdef.Attrs{"T": f32})
			}
			gd := b.GraphDef()
			if _, err := bindVariables(gd); err != nil {
				t.Fatal(err)
			}
			vars := ops.NewVariables()
			vars.Set("v", classify.FromFloat32([]float32{10, 20, 30}, 3))
			m, err := loadWith(context.Background(), gd, classify.OpenOptions{Outputs: []string{"out"}}, loadConfig{fuse: true}, vars.Builders())
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 3; i++ {
				out, err := m.Run(context.Background(), nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				want := []float32{10 + 5*float32(i), 20, 30 + float32(i)}
				if c.op == "ScatterNdUpdate" {
					want = []float32{5, 20, 1}
				}
				if got := out[0].Float32s(); got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
					t.Errorf("run %d: %v, want %v", i, got, want)
				}
			}
			if v, _ := vars.Get("v"); v.Float32s()[0] != map[bool]float32{true: 5, false: 25}[c.op == "ScatterNdUpdate"] {
				t.Errorf("stored value %v", v.Float32s())
			}
		})
	}
}
