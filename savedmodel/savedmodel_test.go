package savedmodel

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
)

// testModels returns the directory of TensorFlow Serving's test SavedModels
// or skips.
func testModels(t testing.TB) string {
	t.Helper()
	d := os.Getenv("TEST_SAVEDMODELS_DIR")
	if d == "" {
		t.Skip("TEST_SAVEDMODELS_DIR is unset; set it to the folder of TF Serving's test SavedModels (CI: ../shared/savedmodels)")
	}
	return d
}

func TestOpenServingModels(t *testing.T) {
	base := testModels(t)
	for _, tc := range []struct {
		dir   string
		vars  map[string]float32
		sigs  string
		asset string
	}{
		{"saved_model_half_plus_two_cpu", map[string]float32{"a": 0.5, "b": 2, "c": 3},
			"classify_x_to_y,regress_x2_to_y3,regress_x_to_y,regress_x_to_y2,serving_default", "Const:0"},
		{"saved_model_half_plus_three", map[string]float32{"a": 0.5, "b": 3}, "", "Const:0"},
		{"saved_model_half_plus_two_tf2_cpu", map[string]float32{"a/.ATTRIBUTES/VARIABLE_VALUE": 0.5, "b/.ATTRIBUTES/VARIABLE_VALUE": 2},
			"__saved_model_init_op,classify_x2_to_y3,classify_x_to_y,regress_x2_to_y3,regress_x_to_y,regress_x_to_y2,serving_default", "asset_path_initializer:0"},
		{"saved_model_counter", map[string]float32{"counter": 0}, "get_counter,incr_counter,incr_counter_by,reset_counter", ""},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			dir, v, err := Resolve(filepath.Join(base, tc.dir))
			if err != nil || v != 123 {
				t.Fatalf("Resolve = %s, %d, %v", dir, v, err)
			}
			m, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if tc.sigs != "" {
				if got := strings.Join(m.SignatureKeys(), ","); got != tc.sigs {
					t.Errorf("signatures %s, want %s", got, tc.sigs)
				}
			}
			for k, want := range tc.vars {
				x, err := m.Variables.Tensor(k)
				if err != nil {
					t.Fatal(err)
				}
				if f := x.Float32s(); len(f) != 1 || f[0] != want {
					t.Errorf("%s = %v, want %v", k, x.Data, want)
				}
			}
			if tc.asset != "" {
				if got, want := m.Assets[tc.asset], filepath.Join(m.Dir, "assets", "foo.txt"); got != want {
					t.Errorf("asset %s = %q, want %q", tc.asset, got, want)
				}
			}
		})
	}
}

func TestSignature(t *testing.T) {
	m, err := Open(filepath.Join(testModels(t), "saved_model_half_plus_two_cpu", "00000123"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Signature("classify_x_to_y")
	if err != nil {
		t.Fatal(err)
	}
	if s.Method != "tensorflow/serving/classify" || len(s.Inputs) != 1 || s.Inputs[0].Name != "tf_example:0" || !s.Inputs[0].UnknownRank ||
		s.Inputs[0].DType.String() != "DT_STRING" || s.Outputs[0].Key != "scores" || s.Outputs[0].Shape.String() != "[?,1]" {
		t.Errorf("classify_x_to_y = %+v", s)
	}
	if _, err := m.Signature("nope"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "serving_default") {
		t.Errorf("missing signature: %v", err)
	}
}

func TestTagSet(t *testing.T) {
	_, err := Open(filepath.Join(testModels(t), "saved_model_half_plus_two_cpu", "00000123"), "train")
	var te *TagSetError
	if !errors.As(err, &te) || !errors.Is(err, ErrNotFound) || len(te.Available) != 1 || te.Available[0][0] != "serve" {
		t.Fatalf("err = %v, want a TagSetError listing serve", err)
	}
}

func TestVersions(t *testing.T) {
	base := filepath.Join(testModels(t), "saved_model_half_plus_two_2_versions")
	vs, err := Versions(base)
	if err != nil || len(vs) != 2 || vs[0] != 123 || vs[1] != 124 {
		t.Fatalf("Versions = %v, %v", vs, err)
	}
	dir, v, err := Resolve(base)
	if err != nil || v != 124 || filepath.Base(dir) != "00000124" {
		t.Fatalf("Resolve = %s, %d, %v", dir, v, err)
	}
	if _, _, err := Resolve(t.TempDir()); !errors.Is(err, ErrNotSavedModel) {
		t.Errorf("empty dir: %v", err)
	}
}

func TestCorruptProto(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ProtoFile), []byte{0x12, 0x80}, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), ProtoFile) {
		t.Errorf("err = %v", err)
	}
}

// TestMetadataJSON checks the signatures against what TF Serving's tests
// expect GET /v1/models/{m}/metadata to report for the same models.
func TestMetadataJSON(t *testing.T) {
	base := testModels(t)
	for _, tc := range []struct{ json, dir string }{
		{"half_plus_two_model_metadata.json", "saved_model_half_plus_two_cpu/00000123"},
		{"saved_model_half_plus_two_2_versions_metadata.json", "saved_model_half_plus_two_2_versions/00000123"},
		{"saved_model_half_plus_two_tf2_2_versions_metadata.json", "saved_model_half_plus_two_tf2_cpu/00000123"},
	} {
		t.Run(tc.json, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(base, tc.json))
			if err != nil {
				t.Fatal(err)
			}
			type tensor struct {
				DType string `json:"dtype"`
				Shape struct {
					Dim []struct {
						Size string `json:"size"`
					} `json:"dim"`
					UnknownRank bool `json:"unknown_rank"`
				} `json:"tensor_shape"`
				Name string `json:"name"`
			}
			var meta struct {
				Metadata struct {
					SignatureDef struct {
						SignatureDef map[string]struct {
							Inputs  map[string]tensor `json:"inputs"`
							Outputs map[string]tensor `json:"outputs"`
							Method  string            `json:"method_name"`
						} `json:"signature_def"`
					} `json:"signature_def"`
				} `json:"metadata"`
			}
			if err := json.Unmarshal(data, &meta); err != nil {
				t.Fatal(err)
			}
			m, err := Open(filepath.Join(base, tc.dir))
			if err != nil {
				t.Fatal(err)
			}
			want := meta.Metadata.SignatureDef.SignatureDef
			if len(want) != len(m.Signatures) {
				t.Errorf("%d signatures, metadata has %d", len(m.Signatures), len(want))
			}
			same := func(kind string, got []TensorInfo, want map[string]tensor) {
				if len(got) != len(want) {
					t.Errorf("%s: %d tensors, want %d", kind, len(got), len(want))
				}
				for _, g := range got {
					w, ok := want[g.Key]
					var dims []string
					for _, d := range w.Shape.Dim {
						dims = append(dims, d.Size)
					}
					var gdims []string
					for _, d := range g.Shape {
						gdims = append(gdims, strconv.Itoa(d))
					}
					if !ok || w.DType != g.DType.String() || w.Name != g.Name || w.Shape.UnknownRank != g.UnknownRank || strings.Join(dims, ",") != strings.Join(gdims, ",") {
						t.Errorf("%s %q: got %+v, metadata says %+v", kind, g.Key, g, w)
					}
				}
			}
			for k, w := range want {
				s, ok := m.Signatures[k]
				if !ok {
					t.Errorf("signature %q missing", k)
					continue
				}
				if s.Method != w.Method {
					t.Errorf("%s: method %q, want %q", k, s.Method, w.Method)
				}
				same(k+" inputs", s.Inputs, w.Inputs)
				same(k+" outputs", s.Outputs, w.Outputs)
			}
		})
	}
}

// A text-format saved_model.pbtxt loads like the binary file.
func TestTextProto(t *testing.T) {
	src := filepath.Join(testModels(t), "saved_model_half_plus_two_cpu", "00000123")
	sm, err := ReadProto(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	text, err := prototext.Marshal(sm)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, TextProtoFile), text, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(src, "variables"), filepath.Join(dir, "variables")); err != nil {
		t.Fatal(err)
	}
	m, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Signature("regress_x_to_y"); err != nil || m.Variables == nil {
		t.Fatalf("signature: %v; variables %v", err, m.Variables)
	}
	if x, err := m.Variables.Tensor("b"); err != nil || x.Float32s()[0] != 2 {
		t.Errorf("b = %v, %v", x, err)
	}
}
