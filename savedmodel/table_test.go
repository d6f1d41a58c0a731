package savedmodel

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"strings"
	"testing"

	spb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_shape_go_proto"
	tpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// writeTable builds a one-data-block table the way LevelDB lays it out, with
// a restart point every 2 entries so prefix compression is exercised.
func writeTable(kvs [][2]string) []byte {
	var out, blk []byte
	var restarts []uint32
	prev := ""
	for i, kv := range kvs {
		shared := 0
		if i%2 == 0 {
			restarts = append(restarts, uint32(len(blk)))
		} else {
			for shared < len(prev) && shared < len(kv[0]) && prev[shared] == kv[0][shared] {
				shared++
			}
		}
		blk = binary.AppendUvarint(blk, uint64(shared))
		blk = binary.AppendUvarint(blk, uint64(len(kv[0])-shared))
		blk = binary.AppendUvarint(blk, uint64(len(kv[1])))
		blk = append(append(blk, kv[0][shared:]...), kv[1]...)
		prev = kv[0]
	}
	finish := func(b []byte, rs []uint32) []byte {
		if len(rs) == 0 {
			rs = []uint32{0}
		}
		for _, r := range rs {
			b = binary.LittleEndian.AppendUint32(b, r)
		}
		return binary.LittleEndian.AppendUint32(b, uint32(len(rs)))
	}
	put := func(b []byte) (off, size uint64) {
		off, size = uint64(len(out)), uint64(len(b))
		out = append(out, b...)
		crc := crc32.Update(crc32.Checksum(b, castagnoli), castagnoli, []byte{0})
		out = append(out, 0)
		out = binary.LittleEndian.AppendUint32(out, maskCRC(crc))
		return off, size
	}
	doff, dsize := put(finish(blk, restarts))
	var handle []byte
	handle = binary.AppendUvarint(binary.AppendUvarint(handle, doff), dsize)
	var idx []byte
	idx = binary.AppendUvarint(idx, 0)
	idx = binary.AppendUvarint(idx, uint64(len(prev)))
	idx = binary.AppendUvarint(idx, uint64(len(handle)))
	idx = append(append(idx, prev...), handle...)
	moff, msize := put(finish(nil, nil))
	ioff, isize := put(finish(idx, []uint32{0}))
	var footer []byte
	footer = binary.AppendUvarint(binary.AppendUvarint(footer, moff), msize)
	footer = binary.AppendUvarint(binary.AppendUvarint(footer, ioff), isize)
	footer = append(footer, make([]byte, 40-len(footer))...)
	footer = binary.LittleEndian.AppendUint64(footer, tableMagic)
	return append(out, footer...)
}

// testBundle returns an index and a data shard holding a float32 [2] "w"
// and a string [2] "words".
func testBundle(t testing.TB) ([]byte, []byte) {
	var data []byte
	for _, f := range []float32{1.5, -2} {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(f))
	}
	wcrc := crc32.Checksum(data, castagnoli)
	soff := len(data)
	words := []string{"hi", "there"}
	var lens []byte
	var crc uint32
	for _, w := range words {
		lens = binary.AppendUvarint(lens, uint64(len(w)))
		crc = crc32.Update(crc, castagnoli, binary.LittleEndian.AppendUint32(nil, uint32(len(w))))
	}
	lcrc := binary.LittleEndian.AppendUint32(nil, maskCRC(crc))
	crc = crc32.Update(crc, castagnoli, lcrc)
	str := append(append(lens, lcrc...), "hithere"...)
	crc = crc32.Update(crc, castagnoli, []byte("hithere"))
	data = append(data, str...)
	shape := &spb.TensorShapeProto{Dim: []*spb.TensorShapeProto_Dim{{Size: 2}}}
	m := func(x proto.Message) string {
		b, err := proto.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	idx := writeTable([][2]string{
		{"", m(&pb.BundleHeaderProto{NumShards: 1})},
		{"w", m(&pb.BundleEntryProto{Dtype: tpb.DataType_DT_FLOAT, Shape: shape, Size: 8, Crc32C: maskCRC(wcrc)})},
		{"words", m(&pb.BundleEntryProto{Dtype: tpb.DataType_DT_STRING, Shape: shape, Offset: int64(soff), Size: int64(len(str)), Crc32C: maskCRC(crc)})},
	})
	return idx, data
}

func shardOf(data []byte) func(int32) ([]byte, string, error) {
	return func(int32) ([]byte, string, error) { return data, "test.data-00000-of-00001", nil }
}

func TestBundle(t *testing.T) {
	idx, data := testBundle(t)
	b, err := parseBundle("test.index", idx, shardOf(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.Keys(), ","); got != "w,words" {
		t.Fatalf("keys %q", got)
	}
	w, err := b.Tensor("w")
	if err != nil {
		t.Fatal(err)
	}
	if f := w.Float32s(); len(f) != 2 || f[0] != 1.5 || f[1] != -2 {
		t.Errorf("w = %v", w.Data)
	}
	s, err := b.Tensor("words")
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Data.([][]byte); string(d[0]) != "hi" || string(d[1]) != "there" {
		t.Errorf("words = %q", d)
	}
	if _, err := b.Tensor("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing entry: %v", err)
	}
}

// Bad inputs and the error each must give.
func TestBundleCorrupt(t *testing.T) {
	idx, data := testBundle(t)
	flip := func(b []byte, i int) []byte { c := append([]byte(nil), b...); c[i] ^= 0x40; return c }
	for _, tc := range []struct {
		name      string
		idx, data []byte
		key       string
		want      string
	}{
		{"short index", idx[:20], data, "", "shorter than its 48-byte footer"},
		{"bad magic", flip(idx, len(idx)-1), data, "", "bad table magic"},
		{"block crc", flip(idx, 3), data, "", "checksum mismatch"},
		{"tensor crc", idx, flip(data, 1), "w", `entry "w": corrupt SavedModel file: checksum mismatch`},
		{"string crc", idx, flip(data, len(data)-1), "words", `entry "words": corrupt SavedModel file: checksum mismatch`},
		{"truncated shard", idx, data[:6], "w", "past the end of test.data-00000-of-00001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := parseBundle("test.index", tc.idx, shardOf(tc.data))
			if err == nil {
				_, err = b.Tensor(tc.key)
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "test.index") {
				t.Errorf("err = %v, want ErrCorrupt naming test.index and %q", err, tc.want)
			}
		})
	}
}

func TestUnsnappy(t *testing.T) {
	// "abcabcabcX": literal "abc", a 1-byte-offset copy of 6 bytes at
	// offset 3 (overlapping), literal "X".
	src := []byte{10, 2 << 2, 'a', 'b', 'c', 1 | (6-4)<<2, 3, 0, 'X'}
	got, err := unsnappy(src)
	if err != nil || string(got) != "abcabcabcX" {
		t.Fatalf("unsnappy = %q, %v", got, err)
	}
	if _, err := unsnappy(src[:5]); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated: %v", err)
	}
}

// FuzzTable feeds arbitrary bytes to the table reader, and, since random
// bytes rarely survive the block checksums, straight to the block decoder
// and the Snappy decoder too.
func FuzzTable(f *testing.F) {
	idx, _ := testBundle(f)
	f.Add(idx)
	f.Add(writeTable(nil))
	f.Add([]byte{10, 2 << 2, 'a', 'b', 'c', 1 | (6-4)<<2, 3, 0, 'X'})
	f.Fuzz(func(t *testing.T, b []byte) {
		ents, err := readTable(b)
		if err == nil {
			for i := 1; i < len(ents); i++ {
				if string(ents[i-1].key) >= string(ents[i].key) {
					t.Fatalf("keys out of order")
				}
			}
		} else if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		if _, err := blockEntries(b); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("block: error wraps no sentinel: %v", err)
		}
		if d, err := unsnappy(b); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("snappy: error wraps no sentinel: %v", err)
		} else if err == nil && len(d) > maxSnappyLen {
			t.Fatalf("snappy: %d bytes decoded", len(d))
		}
	})
}

// FuzzBundle builds a valid table around a fuzzed header and entry (so the
// checksums pass and the entry decoding is what gets exercised) and reads
// the tensor from a fuzzed shard; raw index bytes are fuzzed too.
func FuzzBundle(f *testing.F) {
	idx, data := testBundle(f)
	ents, err := readTable(idx)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents[1:] {
		f.Add(ents[0].value, e.value, data, []byte(nil))
	}
	f.Add([]byte(nil), []byte(nil), []byte(nil), idx)
	f.Fuzz(func(t *testing.T, header, entry, data, rawIndex []byte) {
		for _, index := range [][]byte{writeTable([][2]string{{"", string(header)}, {"t", string(entry)}}), rawIndex} {
			b, err := parseBundle("fuzz.index", index, shardOf(data))
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
					t.Fatalf("error wraps no sentinel: %v", err)
				}
				continue
			}
			for _, k := range b.Keys() {
				x, err := b.Tensor(k)
				if err != nil {
					if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
						t.Fatalf("entry %q: error wraps no sentinel: %v", k, err)
					}
					continue
				}
				if err := x.Validate(); err != nil {
					t.Fatalf("entry %q: invalid tensor: %v", k, err)
				}
			}
		}
	})
}

// TestBundleComplex: complex64 and complex128 variables are (real, imag)
// pairs of the bundle's byte order, as TensorFlow's bundle writer lays
// out std::complex.
func TestBundleComplex(t *testing.T) {
	for _, big := range []bool{false, true} {
		var order binary.AppendByteOrder = binary.LittleEndian
		hdr := &pb.BundleHeaderProto{NumShards: 1}
		if big {
			order = binary.BigEndian
			hdr.Endianness = pb.BundleHeaderProto_BIG
		}
		var data []byte
		for _, f := range []float32{1, -2, 0.5, 3} {
			data = order.AppendUint32(data, math.Float32bits(f))
		}
		c64len := len(data)
		for _, f := range []float64{-1e300, 7} {
			data = order.AppendUint64(data, math.Float64bits(f))
		}
		m := func(x proto.Message) string {
			b, err := proto.Marshal(x)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		dims := func(n int64) *spb.TensorShapeProto {
			return &spb.TensorShapeProto{Dim: []*spb.TensorShapeProto_Dim{{Size: n}}}
		}
		idx := writeTable([][2]string{
			{"", m(hdr)},
			{"a", m(&pb.BundleEntryProto{Dtype: tpb.DataType_DT_COMPLEX64, Shape: dims(2), Size: int64(c64len), Crc32C: maskCRC(crc32.Checksum(data[:c64len], castagnoli))})},
			{"b", m(&pb.BundleEntryProto{Dtype: tpb.DataType_DT_COMPLEX128, Shape: dims(1), Offset: int64(c64len), Size: 16, Crc32C: maskCRC(crc32.Checksum(data[c64len:], castagnoli))})},
			{"short", m(&pb.BundleEntryProto{Dtype: tpb.DataType_DT_COMPLEX128, Shape: dims(2), Offset: int64(c64len), Size: 16, Crc32C: maskCRC(crc32.Checksum(data[c64len:], castagnoli))})},
		})
		b, err := parseBundle("test.index", idx, shardOf(data))
		if err != nil {
			t.Fatal(err)
		}
		a, err := b.Tensor("a")
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := a.Data.([]complex64); !ok || len(d) != 2 || d[0] != complex(1, -2) || d[1] != complex(0.5, 3) {
			t.Errorf("big=%v: a = %v", big, a.Data)
		}
		c, err := b.Tensor("b")
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := c.Data.([]complex128); !ok || len(d) != 1 || d[0] != complex(-1e300, 7) {
			t.Errorf("big=%v: b = %v", big, c.Data)
		}
		if _, err := b.Tensor("short"); !errors.Is(err, ErrCorrupt) {
			t.Errorf("16 bytes for 2 complex128: %v", err)
		}
	}
}
