package ops

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/classifyd/classifyd/classify"
)

// Hash tables: TF1 vocabulary lookups, feature columns and Keras
// StringLookup/IntegerLookup. A table op (HashTableV2, MutableHashTableV2)
// outputs a scalar DT_VARIANT tensor holding its *Table, the resource
// handle the other table ops take as input 0.
//
// Which table a table op yields is decided when it is built: the global
// builders give each compiled model a table of its own per node, which is
// what a frozen graph needs. A SavedModel compiles its init ops and each
// signature separately but must see one table per resource: Tables.Builders
// binds the table ops to the model's own storage, keyed by container and
// shared_name (or, without a shared_name, by node name).
func init() {
	for _, op := range tableOps {
		Register(op, func(n *Node, _ []*classify.Tensor) (Op, error) {
			t, err := newTable(n)
			if err != nil {
				return nil, err
			}
			return t.op(), nil
		})
	}
	Register("InitializeTableV2", buildTableInit(3, importKV))
	Register("LookupTableImportV2", buildTableInit(3, importKV))
	Register("InitializeTableFromTextFileV2", buildTableInit(2, importTextFile))
	Register("LookupTableFindV2", buildLookupFind)
	Register("LookupTableSizeV2", buildLookupSize)
	Register("LookupTableExportV2", buildLookupExport)
}

// tableOps are the op types that create a table.
var tableOps = []string{"HashTableV2", "MutableHashTableV2"}

// TableOps reports whether an op type creates a table or changes one, so
// the loader neither folds it nor drops it from an init graph.
func TableOps(op string) bool {
	switch op {
	case "HashTableV2", "MutableHashTableV2", "InitializeTableV2", "LookupTableImportV2", "InitializeTableFromTextFileV2":
		return true
	}
	return false
}

// TableInitOp reports whether an op type fills a table (what an init op
// runs).
func TableInitOp(op string) bool {
	switch op {
	case "InitializeTableV2", "LookupTableImportV2", "InitializeTableFromTextFileV2":
		return true
	}
	return false
}

// maxTableSize bounds how many entries one table may hold: a vocabulary of
// 64 million entries is far beyond any served model.
const maxTableSize = 1 << 26

// Table is a hash table resource. It is safe for concurrent use.
type Table struct {
	name    string // for errors: the node that created it
	keyType classify.DType
	valType classify.DType
	mutable bool
	mu      sync.RWMutex
	init    bool
	index   map[any]int // key → position in keys/vals
	keys    []any
	vals    []any
}

func newTable(n *Node) (*Table, error) {
	kt, vt := n.Type("key_dtype"), n.Type("value_dtype")
	switch kt {
	case classify.String, classify.Int64, classify.Int32:
	default:
		return nil, fmt.Errorf("node %q (%s): %w: table keys of %v", n.Name, n.Op, classify.ErrUnsupportedOp, n.Attr["key_dtype"].GetType())
	}
	switch vt {
	case classify.String, classify.Int64, classify.Int32, classify.Float32, classify.Float64, classify.Bool:
	default:
		return nil, fmt.Errorf("node %q (%s): %w: table values of %v", n.Name, n.Op, classify.ErrUnsupportedOp, n.Attr["value_dtype"].GetType())
	}
	return &Table{name: n.Name, keyType: kt, valType: vt, mutable: n.Op == "MutableHashTableV2", index: map[any]int{}}, nil
}

// op is the kernel that outputs t's handle.
func (t *Table) op() Op {
	h := &classify.Tensor{DType: classify.Variant, Shape: classify.Shape{}, Data: []any{t}}
	return tableOp{h: h}
}

type tableOp struct{ h *classify.Tensor }

func (o tableOp) Run(*Ctx, []*classify.Tensor) ([]*classify.Tensor, error) {
	return []*classify.Tensor{o.h}, nil
}

func (o tableOp) OutputInfo([]classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: classify.Variant, Shape: classify.Shape{}}}, nil
}

// Size is the number of entries.
func (t *Table) Size() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.keys)
}

// Tables is the table storage of one model, safe for concurrent use.
type Tables struct {
	mu sync.Mutex
	m  map[string]*Table
}

// NewTables returns empty storage.
func NewTables() *Tables { return &Tables{m: map[string]*Table{}} }

// Builders returns the kernels of the table ops bound to ts: every build of
// the same resource yields the same table.
func (ts *Tables) Builders() map[string]Builder {
	m := map[string]Builder{}
	for _, op := range tableOps {
		m[op] = func(n *Node, _ []*classify.Tensor) (Op, error) {
			key := n.Name
			if s := n.String("shared_name", ""); s != "" {
				key = n.String("container", "") + "/" + s
			}
			ts.mu.Lock()
			defer ts.mu.Unlock()
			if t, ok := ts.m[key]; ok {
				if t.keyType != n.Type("key_dtype") || t.valType != n.Type("value_dtype") || t.mutable != (n.Op == "MutableHashTableV2") {
					return nil, n.Errorf("table %q is shared with node %q, which declares other key/value types", key, t.name)
				}
				return t.op(), nil
			}
			t, err := newTable(n)
			if err != nil {
				return nil, err
			}
			ts.m[key] = t
			return t.op(), nil
		}
	}
	return m
}

// tableOf unwraps a table handle.
func tableOf(n *Node, h *classify.Tensor) (*Table, error) {
	if h.DType == classify.Variant {
		if d := h.Data.([]any); len(d) == 1 {
			if t, ok := d[0].(*Table); ok {
				return t, nil
			}
		}
	}
	return nil, n.InputErrorf("input 0 is not a table handle (%v %v)", h.DType, h.Shape)
}

// elem returns element i of t as a table key or value.
func elem(t *classify.Tensor, i int) any {
	switch d := t.Data.(type) {
	case [][]byte:
		return string(d[i])
	case []int64:
		return d[i]
	case []int32:
		return d[i]
	case []float32:
		return d[i]
	case []float64:
		return d[i]
	case []bool:
		return d[i]
	}
	return nil
}

// setElem stores v (of the tensor's element type) at i.
func setElem(t *classify.Tensor, i int, v any) {
	switch d := t.Data.(type) {
	case [][]byte:
		d[i] = []byte(v.(string))
	case []int64:
		d[i] = v.(int64)
	case []int32:
		d[i] = v.(int32)
	case []float32:
		d[i] = v.(float32)
	case []float64:
		d[i] = v.(float64)
	case []bool:
		d[i] = v.(bool)
	}
}

// insert fills the table with keys→vals: a static table once (later
// initializations are no-ops, as an init op run twice is in TensorFlow),
// a mutable one replaced. Duplicate keys with different values in a static
// table are an error, as in TensorFlow's HashTable.
func (t *Table) insert(n *Node, keys, vals []any) error {
	if len(keys) != len(vals) {
		return n.InputErrorf("%d keys but %d values", len(keys), len(vals))
	}
	if len(keys) > maxTableSize {
		return n.InputErrorf("%d entries, more than the %d a table may hold", len(keys), maxTableSize)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.init && !t.mutable {
		return nil
	}
	index := make(map[any]int, len(keys))
	var ks, vs []any
	for i, k := range keys {
		if j, dup := index[k]; dup {
			if !t.mutable && vs[j] != vals[i] {
				return n.InputErrorf("table %q: key %v has two values, %v and %v", t.name, k, vs[j], vals[i])
			}
			vs[j] = vals[i]
			continue
		}
		index[k] = len(ks)
		ks = append(ks, k)
		vs = append(vs, vals[i])
	}
	t.index, t.keys, t.vals, t.init = index, ks, vs, true
	return nil
}

type tableInit struct {
	n   *Node
	run func(n *Node, t *Table, in []*classify.Tensor) error
}

func buildTableInit(inputs int, run func(n *Node, t *Table, in []*classify.Tensor) error) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != inputs {
			return nil, n.Errorf("has %d inputs, want %d", n.NumInputs, inputs)
		}
		return tableInit{n: n, run: run}, nil
	}
}

// Run fills the table. TensorFlow's table initializers have no outputs;
// this one passes the handle through so an init graph can fetch it.
func (o tableInit) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t, err := tableOf(o.n, in[0])
	if err != nil {
		return nil, err
	}
	if err := o.run(o.n, t, in); err != nil {
		return nil, err
	}
	return []*classify.Tensor{in[0]}, nil
}

func importKV(n *Node, t *Table, in []*classify.Tensor) error {
	k, v := in[1], in[2]
	if k.DType != t.keyType || v.DType != t.valType {
		return n.InputErrorf("table %q of %v→%v given %v keys and %v values", t.name, t.keyType, t.valType, k.DType, v.DType)
	}
	if k.Len() != v.Len() || (len(k.Shape) > 0 && len(v.Shape) > 0 && k.Shape[0] != v.Shape[0]) {
		return n.InputErrorf("keys %v and values %v differ in length", k.Shape, v.Shape)
	}
	keys, vals := make([]any, k.Len()), make([]any, v.Len())
	for i := range keys {
		keys[i], vals[i] = elem(k, i), elem(v, i)
	}
	return t.insert(n, keys, vals)
}

// Special columns of InitializeTableFromTextFileV2's key_index and
// value_index.
const (
	lineNumber = -1
	wholeLine  = -2
)

// maxVocabFileSize bounds a vocabulary file read into a table (1 GiB).
const maxVocabFileSize = 1 << 30

// importTextFile reads a vocabulary file as TensorFlow's TextFileInitializer
// does: one entry per line (the last line's newline optional), split by
// delimiter; index -2 is the whole line, -1 the line number (plus offset),
// any other the column. vocab_size > 0 reads exactly that many lines.
func importTextFile(n *Node, t *Table, in []*classify.Tensor) error {
	f := in[1]
	if f.DType != classify.String || f.Len() != 1 {
		return n.InputErrorf("filename is %v %v, want a string scalar", f.DType, f.Shape)
	}
	path := string(f.Data.([][]byte)[0])
	ki, vi := int(n.Int("key_index", wholeLine)), int(n.Int("value_index", lineNumber))
	vocab, offset := n.Int("vocab_size", -1), n.Int("offset", 0)
	delim := n.String("delimiter", "\t")
	if ki < wholeLine || vi < wholeLine {
		return n.Errorf("key_index %d / value_index %d", ki, vi)
	}
	st, err := os.Stat(path)
	if err != nil {
		return n.InputErrorf("vocabulary file: %v", err)
	}
	if st.Size() > maxVocabFileSize {
		return n.InputErrorf("vocabulary file %s has %d bytes, more than %d", path, st.Size(), maxVocabFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return n.InputErrorf("vocabulary file: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	var keys, vals []any
	line := int64(0)
	for sc.Scan() {
		if vocab > 0 && line >= vocab {
			break
		}
		text := sc.Text()
		var cols []string
		if delim == "" {
			cols = []string{text}
		} else {
			cols = strings.Split(text, delim)
		}
		k, err := textField(n, path, line, cols, text, ki, line+offset, t.keyType)
		if err != nil {
			return err
		}
		v, err := textField(n, path, line, cols, text, vi, line+offset, t.valType)
		if err != nil {
			return err
		}
		keys, vals = append(keys, k), append(vals, v)
		line++
	}
	if vocab > 0 && line < vocab {
		return n.InputErrorf("vocabulary file %s has %d lines, vocab_size is %d", path, line, vocab)
	}
	return t.insert(n, keys, vals)
}

// textField converts one field of a vocabulary line to dt.
func textField(n *Node, path string, line int64, cols []string, text string, idx int, num int64, dt classify.DType) (any, error) {
	var s string
	switch idx {
	case lineNumber:
		switch dt {
		case classify.Int64:
			return num, nil
		case classify.Int32:
			if num > math.MaxInt32 {
				return nil, n.InputErrorf("%s: line number %d overflows int32", path, num)
			}
			return int32(num), nil
		}
		return nil, n.InputErrorf("line numbers are int64, the table wants %v", dt)
	case wholeLine:
		s = text
	default:
		if idx >= len(cols) {
			return nil, n.InputErrorf("%s line %d: %d columns, column %d wanted", path, line+1, len(cols), idx)
		}
		s = cols[idx]
	}
	var err error
	var v any
	switch dt {
	case classify.String:
		return s, nil
	case classify.Int64:
		v, err = strconv.ParseInt(s, 10, 64)
	case classify.Int32:
		var x int64
		x, err = strconv.ParseInt(s, 10, 32)
		v = int32(x)
	case classify.Float32:
		var x float64
		x, err = strconv.ParseFloat(s, 32)
		v = float32(x)
	case classify.Float64:
		v, err = strconv.ParseFloat(s, 64)
	default:
		return nil, n.InputErrorf("%s: cannot read %v values from a text file", path, dt)
	}
	if err != nil {
		return nil, n.InputErrorf("%s line %d: %q is not %v", path, line+1, s, dt)
	}
	return v, nil
}

type lookupFind struct{ n *Node }

func buildLookupFind(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 3 {
		return nil, n.Errorf("has %d inputs, want 3", n.NumInputs)
	}
	return lookupFind{n: n}, nil
}

func (o lookupFind) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) < 3 {
		return nil, nil
	}
	return []classify.TensorInfo{{DType: o.n.Type("Tout"), Shape: in[1].Shape.Clone()}}, nil
}

// Run looks every key up; a missing key gets default_value (a scalar, or a
// tensor of the keys' shape).
func (o lookupFind) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t, err := tableOf(o.n, in[0])
	if err != nil {
		return nil, err
	}
	keys, def := in[1], in[2]
	if keys.DType != t.keyType {
		return nil, o.n.InputErrorf("keys are %v, table %q has %v keys", keys.DType, t.name, t.keyType)
	}
	if def.DType != t.valType || (def.Len() != 1 && !def.Shape.Equal(keys.Shape)) {
		return nil, o.n.InputErrorf("default value %v %v for %v values and keys %v", def.DType, def.Shape, t.valType, keys.Shape)
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if !t.init && !t.mutable {
		return nil, o.n.InputErrorf("table %q is not initialized (no init op filled it)", t.name)
	}
	out := ctx.Output(0, t.valType, keys.Shape...)
	for i := range keys.Len() {
		if j, ok := t.index[elem(keys, i)]; ok {
			setElem(out, i, t.vals[j])
		} else if def.Len() == 1 {
			setElem(out, i, elem(def, 0))
		} else {
			setElem(out, i, elem(def, i))
		}
	}
	return []*classify.Tensor{out}, nil
}

type lookupSize struct{ n *Node }

func buildLookupSize(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
	}
	return lookupSize{n: n}, nil
}

func (o lookupSize) OutputInfo([]classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: classify.Int64, Shape: classify.Shape{}}}, nil
}

func (o lookupSize) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t, err := tableOf(o.n, in[0])
	if err != nil {
		return nil, err
	}
	return []*classify.Tensor{{DType: classify.Int64, Shape: classify.Shape{}, Data: []int64{int64(t.Size())}}}, nil
}

type lookupExport struct{ n *Node }

func buildLookupExport(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
	}
	return lookupExport{n: n}, nil
}

// Run returns keys and values in insertion order (TensorFlow's order is
// unspecified).
func (o lookupExport) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t, err := tableOf(o.n, in[0])
	if err != nil {
		return nil, err
	}
	k, v, _ := t.Export()
	return []*classify.Tensor{k, v}, nil
}

// Find returns the table a table node of this storage resolved to, if it
// was built.
func (ts *Tables) Find(name, container, sharedName string) (*Table, bool) {
	key := name
	if sharedName != "" {
		key = container + "/" + sharedName
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t, ok := ts.m[key]
	return t, ok
}

// Export returns the table's keys and values (insertion order) and
// whether it was initialized.
func (t *Table) Export() (keys, vals *classify.Tensor, init bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	keys, vals = classify.NewTensor(t.keyType, len(t.keys)), classify.NewTensor(t.valType, len(t.vals))
	for i := range t.keys {
		setElem(keys, i, t.keys[i])
		setElem(vals, i, t.vals[i])
	}
	return keys, vals, t.init
}
