package savedmodeltest

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"sort"

	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
	"github.com/classifyd/classifyd/internal/rawtensor"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskCRC is LevelDB's crc32c::Mask.
func maskCRC(c uint32) uint32 { return (c>>15 | c<<17) + 0xa282ead8 }

// WriteBundle writes a TensorBundle checkpoint at prefix (prefix.index and
// prefix.data-00000-of-00001) holding vars by key, little-endian, as
// TensorFlow's BundleWriter lays them out: a LevelDB-format index table
// (header under "", one BundleEntryProto per key) and one data shard.
func WriteBundle(prefix string, vars map[string]*classify.Tensor) error {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		if k == "" {
			return fmt.Errorf("savedmodeltest: empty bundle key")
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var data []byte
	entries := [][2]string{}
	hdr, err := proto.Marshal(&pb.BundleHeaderProto{NumShards: 1})
	if err != nil {
		return err
	}
	entries = append(entries, [2]string{"", string(hdr)})
	for _, k := range keys {
		t := vars[k]
		raw, crc, err := encodeTensor(t)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		e := &pb.BundleEntryProto{Dtype: graphdef.DTypeProto(t.DType), Shape: graphdef.ShapeProto(t.Shape), Offset: int64(len(data)), Size: int64(len(raw)), Crc32C: maskCRC(crc)}
		b, err := proto.Marshal(e)
		if err != nil {
			return err
		}
		data = append(data, raw...)
		entries = append(entries, [2]string{k, string(b)})
	}
	if err := os.WriteFile(prefix+".index", levelTable(entries), 0o644); err != nil {
		return fmt.Errorf("savedmodeltest: %w", err)
	}
	if err := os.WriteFile(prefix+".data-00000-of-00001", data, 0o644); err != nil {
		return fmt.Errorf("savedmodeltest: %w", err)
	}
	return nil
}

// encodeTensor returns the bundle bytes of t and their (unmasked) CRC32C:
// fixed-size dtypes little-endian through rawtensor (every dtype the
// engine holds), strings as BundleWriter frames them.
func encodeTensor(t *classify.Tensor) ([]byte, uint32, error) {
	if d, ok := t.Data.([][]byte); ok {
		// Lengths as varints, their masked CRC32C (each length hashed as
		// a little-endian uint32), then the bytes; the entry checksum
		// covers all three.
		var raw []byte
		var crc uint32
		for _, s := range d {
			raw = binary.AppendUvarint(raw, uint64(len(s)))
			crc = crc32.Update(crc, castagnoli, binary.LittleEndian.AppendUint32(nil, uint32(len(s))))
		}
		stored := binary.LittleEndian.AppendUint32(nil, maskCRC(crc))
		crc = crc32.Update(crc, castagnoli, stored)
		raw = append(raw, stored...)
		for _, s := range d {
			raw = append(raw, s...)
			crc = crc32.Update(crc, castagnoli, s)
		}
		return raw, crc, nil
	}
	raw, err := rawtensor.Append(nil, t, binary.LittleEndian)
	if err != nil {
		return nil, 0, fmt.Errorf("savedmodeltest: %w", err)
	}
	return raw, crc32.Checksum(raw, castagnoli), nil
}

// levelTable writes sorted key/value pairs as a LevelDB table of one data
// block (a restart point at every entry, no prefix sharing), an empty
// metaindex and an index block.
func levelTable(kvs [][2]string) []byte {
	var out []byte
	block := func(kvs [][2]string) []byte {
		var b []byte
		var restarts []uint32
		for _, kv := range kvs {
			restarts = append(restarts, uint32(len(b)))
			b = binary.AppendUvarint(b, 0)
			b = binary.AppendUvarint(b, uint64(len(kv[0])))
			b = binary.AppendUvarint(b, uint64(len(kv[1])))
			b = append(append(b, kv[0]...), kv[1]...)
		}
		if len(restarts) == 0 {
			restarts = []uint32{0}
		}
		for _, r := range restarts {
			b = binary.LittleEndian.AppendUint32(b, r)
		}
		return binary.LittleEndian.AppendUint32(b, uint32(len(restarts)))
	}
	put := func(b []byte) []byte {
		var h []byte
		h = binary.AppendUvarint(binary.AppendUvarint(h, uint64(len(out))), uint64(len(b)))
		out = append(out, b...)
		crc := crc32.Update(crc32.Checksum(b, castagnoli), castagnoli, []byte{0})
		out = append(out, 0)
		out = binary.LittleEndian.AppendUint32(out, maskCRC(crc))
		return h
	}
	dh := put(block(kvs))
	mh := put(block(nil))
	ih := put(block([][2]string{{kvs[len(kvs)-1][0], string(dh)}}))
	footer := append(append([]byte(nil), mh...), ih...)
	footer = append(footer, make([]byte, 40-len(footer))...)
	footer = binary.LittleEndian.AppendUint64(footer, 0xdb4775248b80fb57)
	return append(out, footer...)
}
