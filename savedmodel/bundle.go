package savedmodel

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"sort"
	"sync"

	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
	"github.com/classifyd/classifyd/internal/rawtensor"
)

// Bundle is a TensorBundle (a TF2 checkpoint): the index table
// PREFIX.index and the data shards PREFIX.data-NNNNN-of-MMMMM. Opening it
// reads and checks the index; shards are read when a tensor first needs
// them. A Bundle is safe for concurrent use.
type Bundle struct {
	index   string // the index file name, for errors
	header  *pb.BundleHeaderProto
	entries map[string]*pb.BundleEntryProto
	keys    []string

	mu     sync.Mutex
	shards map[int32][]byte
	read   func(shard int32) ([]byte, string, error)
}

// OpenBundle reads the index of the bundle at prefix (for a SavedModel,
// DIR/variables/variables).
func OpenBundle(prefix string) (*Bundle, error) {
	name := prefix + ".index"
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	var numShards int32
	b, err := parseBundle(name, data, func(shard int32) ([]byte, string, error) {
		file := fmt.Sprintf("%s.data-%05d-of-%05d", prefix, shard, numShards)
		d, err := os.ReadFile(file)
		return d, file, err
	})
	if err != nil {
		return nil, err
	}
	numShards = b.header.GetNumShards()
	return b, nil
}

// maxShards bounds the shard count a header may claim.
const maxShards = 1 << 16

// parseBundle decodes an index table; read returns the bytes and the file
// name of a data shard.
func parseBundle(name string, index []byte, read func(int32) ([]byte, string, error)) (*Bundle, error) {
	ents, err := readTable(index)
	if err != nil {
		return nil, fmt.Errorf("bundle index %s: %w", name, err)
	}
	if len(ents) == 0 || len(ents[0].key) != 0 {
		return nil, fmt.Errorf("bundle index %s: %w: the first key is not the header key \"\"", name, ErrCorrupt)
	}
	b := &Bundle{index: name, header: &pb.BundleHeaderProto{}, entries: map[string]*pb.BundleEntryProto{}, shards: map[int32][]byte{}, read: read}
	if err := proto.Unmarshal(ents[0].value, b.header); err != nil {
		return nil, fmt.Errorf("bundle index %s: %w: header: %v", name, ErrCorrupt, err)
	}
	if n := b.header.GetNumShards(); n < 1 || n > maxShards {
		return nil, fmt.Errorf("bundle index %s: %w: header claims %d shards", name, ErrCorrupt, n)
	}
	if v := b.header.GetVersion(); v.GetMinConsumer() > 1 {
		return nil, fmt.Errorf("bundle index %s: %w: bundle needs a reader of version %d (this one is 1)", name, ErrUnsupported, v.GetMinConsumer())
	}
	for _, e := range ents[1:] {
		key := string(e.key)
		ent := &pb.BundleEntryProto{}
		if err := proto.Unmarshal(e.value, ent); err != nil {
			return nil, fmt.Errorf("bundle index %s: entry %q: %w: %v", name, key, ErrCorrupt, err)
		}
		if len(ent.GetSlices()) == 0 && (ent.GetShardId() < 0 || ent.GetShardId() >= b.header.GetNumShards() || ent.GetOffset() < 0 || ent.GetSize() < 0) {
			return nil, fmt.Errorf("bundle index %s: entry %q: %w: shard %d offset %d size %d outside %d shards", name, key, ErrCorrupt, ent.GetShardId(), ent.GetOffset(), ent.GetSize(), b.header.GetNumShards())
		}
		b.entries[key] = ent
		b.keys = append(b.keys, key)
	}
	sort.Strings(b.keys)
	return b, nil
}

// Keys lists the tensor names of the bundle, sorted.
func (b *Bundle) Keys() []string { return append([]string(nil), b.keys...) }

// Entry returns the index entry of a tensor.
func (b *Bundle) Entry(key string) (*pb.BundleEntryProto, bool) {
	e, ok := b.entries[key]
	return e, ok
}

func (b *Bundle) shard(id int32) ([]byte, string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d, ok := b.shards[id]; ok {
		return d, "", nil
	}
	d, file, err := b.read(id)
	if err != nil {
		return nil, file, fmt.Errorf("bundle %s: shard %d: %w", b.index, id, err)
	}
	b.shards[id] = d
	return d, file, nil
}

// Tensor reads and checks one tensor. Errors name the index and the entry
// and wrap ErrCorrupt (bad bytes, checksum mismatch), ErrUnsupported
// (partitioned tensors, dtypes the engines lack) or ErrNotFound.
func (b *Bundle) Tensor(key string) (*classify.Tensor, error) {
	t, err := b.tensor(key)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: entry %q: %w", b.index, key, err)
	}
	return t, nil
}

func (b *Bundle) tensor(key string) (*classify.Tensor, error) {
	e, ok := b.entries[key]
	if !ok {
		return nil, ErrNotFound
	}
	if len(e.GetSlices()) > 0 {
		return nil, fmt.Errorf("%w: a partitioned (sliced) variable of %d slices", ErrUnsupported, len(e.GetSlices()))
	}
	dt := graphdef.DTypeFromProto(e.GetDtype())
	if dt == classify.Invalid {
		return nil, fmt.Errorf("%w: dtype %v", ErrUnsupported, e.GetDtype())
	}
	shape := make(classify.Shape, len(e.GetShape().GetDim()))
	n := int64(1)
	for i, d := range e.GetShape().GetDim() {
		if d.GetSize() < 0 || (d.GetSize() > 0 && n > math.MaxInt32/d.GetSize()) {
			return nil, fmt.Errorf("%w: bad shape %v", ErrCorrupt, e.GetShape())
		}
		shape[i] = int(d.GetSize())
		n *= d.GetSize()
	}
	if e.GetShape().GetUnknownRank() {
		return nil, fmt.Errorf("%w: shape of unknown rank", ErrCorrupt)
	}
	data, file, err := b.shard(e.GetShardId())
	if err != nil {
		return nil, err
	}
	if e.GetOffset() > int64(len(data)) || e.GetSize() > int64(len(data))-e.GetOffset() {
		return nil, fmt.Errorf("%w: bytes %d+%d lie past the end of %s (%d bytes; truncated?)", ErrCorrupt, e.GetOffset(), e.GetSize(), file, len(data))
	}
	raw := data[e.GetOffset() : e.GetOffset()+e.GetSize()]
	var crc uint32
	var t *classify.Tensor
	if dt == classify.String {
		t, crc, err = decodeStrings(raw, int(n), shape)
		if err != nil {
			return nil, err
		}
	} else {
		if int64(len(raw)) != n*int64(dt.Size()) {
			return nil, fmt.Errorf("%w: %d bytes for %d elements of %v", ErrCorrupt, len(raw), n, dt)
		}
		crc = crc32.Checksum(raw, castagnoli)
		t, err = decodeNumbers(raw, dt, shape, b.header.GetEndianness() == pb.BundleHeaderProto_BIG)
		if err != nil {
			return nil, err
		}
	}
	if maskCRC(crc) != e.GetCrc32C() {
		return nil, fmt.Errorf("%w: checksum mismatch (stored %#x, computed %#x)", ErrCorrupt, e.GetCrc32C(), maskCRC(crc))
	}
	return t, nil
}

// decodeNumbers converts raw little- or big-endian elements (the caller
// checked the length against the shape).
func decodeNumbers(raw []byte, dt classify.DType, shape classify.Shape, big bool) (*classify.Tensor, error) {
	var order binary.ByteOrder = binary.LittleEndian
	if big {
		order = binary.BigEndian
	}
	if dt.Size() == 0 {
		return classify.NewTensor(dt, shape...), nil // an empty variant entry
	}
	t, err := rawtensor.Decode(dt, shape, raw, order)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	return t, nil
}

// decodeStrings reads TensorFlow's string tensor layout (WriteStringTensor
// in tensor_bundle.cc): n varint64 lengths, the masked CRC32C of those
// lengths (each as a little-endian uint32, or uint64 past 4 GiB), then the
// bytes. The entry checksum covers the lengths, that stored checksum and
// the bytes, and is returned unmasked.
func decodeStrings(raw []byte, n int, shape classify.Shape) (*classify.Tensor, uint32, error) {
	if n > len(raw) {
		return nil, 0, fmt.Errorf("%w: %d bytes cannot hold %d strings", ErrCorrupt, len(raw), n)
	}
	lens := make([]uint64, n)
	var crc uint32
	p := 0
	var total uint64
	for i := range lens {
		v, k := binary.Uvarint(raw[p:])
		if k <= 0 {
			return nil, 0, fmt.Errorf("%w: string %d: bad length varint", ErrCorrupt, i)
		}
		p += k
		lens[i] = v
		if v > math.MaxUint32 {
			crc = crc32.Update(crc, castagnoli, binary.LittleEndian.AppendUint64(nil, v))
		} else {
			crc = crc32.Update(crc, castagnoli, binary.LittleEndian.AppendUint32(nil, uint32(v)))
		}
		if total += v; total > uint64(len(raw)) {
			return nil, 0, fmt.Errorf("%w: string lengths exceed the %d bytes of the entry", ErrCorrupt, len(raw))
		}
	}
	if len(raw)-p < 4 {
		return nil, 0, fmt.Errorf("%w: string lengths checksum missing", ErrCorrupt)
	}
	stored := raw[p : p+4]
	if binary.LittleEndian.Uint32(stored) != maskCRC(crc) {
		return nil, 0, fmt.Errorf("%w: string lengths checksum mismatch", ErrCorrupt)
	}
	crc = crc32.Update(crc, castagnoli, stored)
	p += 4
	if uint64(len(raw)-p) != total {
		return nil, 0, fmt.Errorf("%w: %d string bytes, lengths say %d", ErrCorrupt, len(raw)-p, total)
	}
	t := classify.NewTensor(classify.String, shape...)
	d := t.Data.([][]byte)
	for i, l := range lens {
		d[i] = append([]byte(nil), raw[p:p+int(l)]...)
		p += int(l)
	}
	crc = crc32.Update(crc, castagnoli, raw[len(raw)-int(total):])
	return t, crc, nil
}
