// Package savedmodel reads TensorFlow SavedModel directories without
// TensorFlow: saved_model.pb (or .pbtxt), the MetaGraphDef of a tag set, its
// SignatureDefs, the variables TensorBundle (a LevelDB-format index table and
// its data shards, every checksum checked) and the asset files. It also
// resolves TensorFlow Serving base paths, whose numeric subfolders are
// versions of one model.
//
// Nothing here runs a graph: the go engine (classify/gotf) turns what this
// package reads into a runnable model. Corrupt or truncated files give an
// error naming the file and the entry and wrapping ErrCorrupt; no input makes
// the package panic. Values returned are safe for concurrent reads.
package savedmodel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	tpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/classifyd/classifyd/classify"
)

// Sentinel errors; every error of the package wraps one of them (or an
// os error for a missing or unreadable file).
var (
	// ErrNotSavedModel means a directory holds no saved_model.pb or
	// saved_model.pbtxt (and, for a base path, no version folder).
	ErrNotSavedModel = errors.New("not a SavedModel directory")
	// ErrCorrupt means a file is truncated or malformed, or a checksum
	// does not match.
	ErrCorrupt = errors.New("corrupt SavedModel file")
	// ErrUnsupported means a valid feature this reader does not implement
	// (compressed table blocks, partitioned variables, exotic dtypes).
	ErrUnsupported = errors.New("unsupported SavedModel feature")
	// ErrNotFound means a tag set, signature or bundle entry is missing.
	ErrNotFound = errors.New("not found")
)

// File names inside a SavedModel directory (tensorflow/cc/saved_model/constants.h).
const (
	ProtoFile     = "saved_model.pb"
	TextProtoFile = "saved_model.pbtxt"
	// VariablesPrefix is the bundle prefix below the directory.
	VariablesPrefix = "variables/variables"
	AssetsDir       = "assets"
	// DefaultTag is the tag set of serving graphs.
	DefaultTag = "serve"
)

// TagSetError says which tag sets a SavedModel has when the wanted one is
// missing. It wraps ErrNotFound.
type TagSetError struct {
	Dir       string
	Want      []string
	Available [][]string
}

func (e *TagSetError) Error() string {
	var av []string
	for _, t := range e.Available {
		av = append(av, strconv.Quote(strings.Join(t, ",")))
	}
	return fmt.Sprintf("savedmodel %s: tag set %q not found (available: %s)", e.Dir, strings.Join(e.Want, ","), strings.Join(av, ", "))
}

// Unwrap returns ErrNotFound.
func (e *TagSetError) Unwrap() error { return ErrNotFound }

// TensorInfo is one input or output of a signature.
type TensorInfo struct {
	Key   string       // the signature's key ("x")
	Name  string       // the graph tensor ("x:0"); empty for sparse/composite tensors
	DType tpb.DataType // as stored; DT_INVALID for an op such as __saved_model_init_op
	Shape classify.Shape
	// UnknownRank is set when the rank is unknown (then Shape is nil).
	UnknownRank bool
}

// Signature is a SignatureDef with its inputs and outputs sorted by key.
type Signature struct {
	Key     string
	Method  string
	Inputs  []TensorInfo
	Outputs []TensorInfo
}

// SavedModel is one MetaGraphDef of a SavedModel directory with what it
// refers to on disk.
type SavedModel struct {
	Dir        string // absolute
	Proto      *pb.SavedModel
	MetaGraph  *pb.MetaGraphDef
	Tags       []string
	Signatures map[string]*Signature
	// Variables is nil for a program-only SavedModel (no variables/).
	Variables *Bundle
	// Assets maps an asset tensor ("Const:0") to the absolute path of its
	// file, which a run feeds as that tensor's value.
	Assets map[string]string
}

// ReadProto reads DIR/saved_model.pb, else DIR/saved_model.pbtxt.
func ReadProto(dir string) (*pb.SavedModel, error) {
	sm := &pb.SavedModel{}
	name := filepath.Join(dir, ProtoFile)
	data, err := os.ReadFile(name)
	if err == nil {
		if err := proto.Unmarshal(data, sm); err != nil {
			return nil, fmt.Errorf("savedmodel %s: %w: %v", name, ErrCorrupt, err)
		}
		return sm, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("savedmodel: %w", err)
	}
	name = filepath.Join(dir, TextProtoFile)
	data, err = os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("savedmodel %s: %w: no %s or %s", dir, ErrNotSavedModel, ProtoFile, TextProtoFile)
	}
	if err != nil {
		return nil, fmt.Errorf("savedmodel: %w", err)
	}
	if err := prototext.Unmarshal(data, sm); err != nil {
		return nil, fmt.Errorf("savedmodel %s: %w: %v", name, ErrCorrupt, err)
	}
	return sm, nil
}

// TagSets lists the tag sets of the MetaGraphDefs, each sorted, in file order.
func TagSets(sm *pb.SavedModel) [][]string {
	var out [][]string
	for _, mg := range sm.GetMetaGraphs() {
		t := append([]string(nil), mg.GetMetaInfoDef().GetTags()...)
		sort.Strings(t)
		out = append(out, t)
	}
	return out
}

// MetaGraph returns the MetaGraphDef whose tag set is exactly tags (in any
// order), as TensorFlow's loader matches it.
func MetaGraph(dir string, sm *pb.SavedModel, tags []string) (*pb.MetaGraphDef, error) {
	want := append([]string(nil), tags...)
	sort.Strings(want)
	for i, have := range TagSets(sm) {
		if strings.Join(have, "\x00") == strings.Join(want, "\x00") {
			return sm.GetMetaGraphs()[i], nil
		}
	}
	return nil, &TagSetError{Dir: dir, Want: want, Available: TagSets(sm)}
}

// Open reads the SavedModel in dir with the MetaGraphDef of the tag set
// (DefaultTag when none is given): signatures, the variables index and the
// asset paths. Tensor bytes are read when first asked for.
func Open(dir string, tags ...string) (*SavedModel, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("savedmodel: %w", err)
	}
	if len(tags) == 0 {
		tags = []string{DefaultTag}
	}
	sm, err := ReadProto(abs)
	if err != nil {
		return nil, err
	}
	mg, err := MetaGraph(abs, sm, tags)
	if err != nil {
		return nil, err
	}
	m := &SavedModel{Dir: abs, Proto: sm, MetaGraph: mg, Tags: TagSets(&pb.SavedModel{MetaGraphs: []*pb.MetaGraphDef{mg}})[0], Signatures: Signatures(mg), Assets: map[string]string{}}
	if _, err := os.Stat(filepath.Join(abs, VariablesPrefix+".index")); err == nil {
		if m.Variables, err = OpenBundle(filepath.Join(abs, VariablesPrefix)); err != nil {
			return nil, fmt.Errorf("savedmodel %s: %w", abs, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("savedmodel: %w", err)
	}
	for _, a := range assetFiles(mg) {
		if a.GetFilename() == "" || strings.Contains(a.GetFilename(), "..") || filepath.IsAbs(a.GetFilename()) {
			return nil, fmt.Errorf("savedmodel %s: %w: asset file name %q", abs, ErrCorrupt, a.GetFilename())
		}
		m.Assets[a.GetTensorInfo().GetName()] = filepath.Join(abs, AssetsDir, a.GetFilename())
	}
	return m, nil
}

// assetFiles gathers the AssetFileDefs: TF2 stores them in the
// MetaGraphDef, TF1 in the saved_model_assets collection.
func assetFiles(mg *pb.MetaGraphDef) []*pb.AssetFileDef {
	out := append([]*pb.AssetFileDef(nil), mg.GetAssetFileDef()...)
	for _, a := range mg.GetCollectionDef()["saved_model_assets"].GetAnyList().GetValue() {
		af := &pb.AssetFileDef{}
		if a.UnmarshalTo(af) == nil {
			out = append(out, af)
		}
	}
	return out
}

// Signatures converts the SignatureDefs of a MetaGraphDef.
func Signatures(mg *pb.MetaGraphDef) map[string]*Signature {
	out := map[string]*Signature{}
	for key, sd := range mg.GetSignatureDef() {
		s := &Signature{Key: key, Method: sd.GetMethodName(), Inputs: tensorInfos(sd.GetInputs()), Outputs: tensorInfos(sd.GetOutputs())}
		out[key] = s
	}
	return out
}

func tensorInfos(m map[string]*pb.TensorInfo) []TensorInfo {
	var out []TensorInfo
	for k, ti := range m {
		// An absent tensor_shape reads as a scalar, as TensorFlow's
		// proto defaults (and saved_model_cli's "()") have it.
		t := TensorInfo{Key: k, Name: ti.GetName(), DType: ti.GetDtype(), UnknownRank: ti.GetTensorShape().GetUnknownRank()}
		if !t.UnknownRank {
			t.Shape = classify.Shape{}
			for _, d := range ti.GetTensorShape().GetDim() {
				t.Shape = append(t.Shape, int(d.GetSize()))
			}
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// SignatureKeys lists the signature keys, sorted.
func (m *SavedModel) SignatureKeys() []string {
	var keys []string
	for k := range m.Signatures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Signature returns one signature; the error lists the keys there are.
func (m *SavedModel) Signature(key string) (*Signature, error) {
	if s, ok := m.Signatures[key]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("savedmodel %s: signature %q: %w (signatures: %s)", m.Dir, key, ErrNotFound, strings.Join(m.SignatureKeys(), ", "))
}
