// Package savedmodeltest writes small SavedModel directories for tests: a
// GraphDef (built with internal/graphdef) and its signatures, and with
// Model also init-op collections, assets and a variables/ checkpoint. It
// exists so tests can serve a SavedModel shaped as they need (an image
// input, several version folders) without TensorFlow. Functions are safe
// for concurrent use on different directories.
package savedmodeltest

import (
	"fmt"
	"os"
	"path/filepath"

	gpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// Predict is TF Serving's method name for a plain tensor-in, tensor-out
// signature.
const Predict = "tensorflow/serving/predict"

// Tensor is one signature input or output: its key and the graph tensor
// ("node:0") it stands for.
type Tensor struct {
	Key   string
	Name  string
	DType classify.DType
	Shape classify.Shape // nil for unknown rank
}

// Signature is one SignatureDef.
type Signature struct {
	Key     string
	Method  string // Predict when empty
	Inputs  []Tensor
	Outputs []Tensor
}

// Write creates dir (and its parents) holding saved_model.pb: one
// MetaGraphDef with tags (["serve"] when empty), gd and sigs.
func Write(dir string, gd *gpb.GraphDef, tags []string, sigs ...Signature) error {
	return Model{GraphDef: gd, Tags: tags, Signatures: sigs}.Write(dir)
}

// Model is a SavedModel with one MetaGraphDef.
type Model struct {
	GraphDef   *gpb.GraphDef
	Tags       []string // ["serve"] when empty
	Signatures []Signature
	// Collections are node-list collections by name, such as TF1's
	// legacy_init_op and saved_model_main_op.
	Collections map[string][]string
	// Assets maps an asset tensor ("Const:0") to its file below assets/
	// and that file's contents; the tensor is bound through an
	// AssetFileDef, as TF2 writes them.
	Assets map[string]Asset
	// Variables are written to variables/variables.* by bundle key; none
	// means no variables/ directory.
	Variables map[string]*classify.Tensor
}

// Asset is one file of assets/.
type Asset struct {
	File     string
	Contents []byte
}

// Write creates dir (and its parents) holding the SavedModel.
func (m Model) Write(dir string) error {
	tags := m.Tags
	if len(tags) == 0 {
		tags = []string{"serve"}
	}
	mg := &pb.MetaGraphDef{
		MetaInfoDef:   &pb.MetaGraphDef_MetaInfoDef{Tags: tags},
		GraphDef:      m.GraphDef,
		SignatureDef:  map[string]*pb.SignatureDef{},
		CollectionDef: map[string]*pb.CollectionDef{},
	}
	for k, nodes := range m.Collections {
		mg.CollectionDef[k] = &pb.CollectionDef{Kind: &pb.CollectionDef_NodeList_{NodeList: &pb.CollectionDef_NodeList{Value: nodes}}}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("savedmodeltest: %w", err)
	}
	for tensor, a := range m.Assets {
		mg.AssetFileDef = append(mg.AssetFileDef, &pb.AssetFileDef{TensorInfo: &pb.TensorInfo{Encoding: &pb.TensorInfo_Name{Name: tensor}}, Filename: a.File})
		if err := os.MkdirAll(filepath.Join(dir, "assets"), 0o755); err != nil {
			return fmt.Errorf("savedmodeltest: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "assets", a.File), a.Contents, 0o644); err != nil {
			return fmt.Errorf("savedmodeltest: %w", err)
		}
	}
	if len(m.Variables) > 0 {
		if err := os.MkdirAll(filepath.Join(dir, "variables"), 0o755); err != nil {
			return fmt.Errorf("savedmodeltest: %w", err)
		}
		if err := WriteBundle(filepath.Join(dir, "variables", "variables"), m.Variables); err != nil {
			return err
		}
	}
	for _, s := range m.Signatures {
		sd := &pb.SignatureDef{MethodName: s.Method, Inputs: map[string]*pb.TensorInfo{}, Outputs: map[string]*pb.TensorInfo{}}
		if sd.MethodName == "" {
			sd.MethodName = Predict
		}
		for _, t := range s.Inputs {
			sd.Inputs[t.Key] = tensorInfo(t)
		}
		for _, t := range s.Outputs {
			sd.Outputs[t.Key] = tensorInfo(t)
		}
		mg.SignatureDef[s.Key] = sd
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(&pb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*pb.MetaGraphDef{mg}})
	if err != nil {
		return fmt.Errorf("savedmodeltest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "saved_model.pb"), data, 0o644); err != nil {
		return fmt.Errorf("savedmodeltest: %w", err)
	}
	return nil
}

func tensorInfo(t Tensor) *pb.TensorInfo {
	ti := &pb.TensorInfo{Encoding: &pb.TensorInfo_Name{Name: t.Name}, Dtype: graphdef.DTypeProto(t.DType)}
	if t.Shape != nil {
		ti.TensorShape = graphdef.ShapeProto(t.Shape)
	} else {
		ti.TensorShape = graphdef.ShapeProto(nil)
		ti.TensorShape.UnknownRank = true
	}
	return ti
}

// MeanRGB writes an image classifier to dir: input key "images" (float32
// [-1,h,w,3]), output key "probabilities", the softmax of scale times
// each channel's mean. On a patch of one pure colour scaled to [0, 1] it
// ranks that colour first, so a test can tell which model version answered
// by its scale.
func MeanRGB(dir string, h, w int, scale float32) error {
	b := graphdef.New()
	f32 := classify.Float32
	x := b.Placeholder("images", f32, classify.Shape{-1, h, w, 3})
	mean := b.Op("Mean", "mean", []graphdef.Output{x, b.ConstI32("axes", []int32{1, 2}, 2)}, graphdef.Attrs{"T": f32, "Tidx": classify.Int32, "keep_dims": false})
	scaled := b.Op("Mul", "scaled", []graphdef.Output{mean, b.ConstF32("scale", []float32{scale})}, graphdef.Attrs{"T": f32})
	b.Op("Softmax", "probs", []graphdef.Output{scaled}, graphdef.Attrs{"T": f32})
	return Write(dir, b.GraphDef(), nil, Signature{
		Key:     "serving_default",
		Inputs:  []Tensor{{Key: "images", Name: "images:0", DType: f32, Shape: classify.Shape{-1, h, w, 3}}},
		Outputs: []Tensor{{Key: "probabilities", Name: "probs:0", DType: f32, Shape: classify.Shape{-1, 3}}},
	})
}
