package savedmodel

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// The LevelDB table format TensorFlow's TensorBundle index uses
// (tensorflow/core/lib/io/table_format.txt): data blocks, a metaindex block,
// an index block of BlockHandles, and a 48-byte footer ending in a magic
// number. Every block carries a 5-byte trailer: compression type and the
// masked CRC32C of block+type.
const (
	tableMagic    = 0xdb4775248b80fb57
	footerLen     = 48
	trailerLen    = 5
	noCompression = 0
	snappyBlock   = 1
	maxHandleLen  = 20 // two varint64s
	// maxKeyLen and maxKeyBytes bound what prefix compression can make a
	// small file decode to (each key may repeat all of the previous one).
	// Bundle keys are tensor names and checkpoint paths: a few hundred
	// bytes at most.
	maxKeyLen   = 1 << 12
	maxKeyBytes = 16 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskCRC is LevelDB's crc32c::Mask: checksums stored next to the data they
// cover are rotated and offset so that a CRC of bytes holding CRCs stays
// meaningful.
func maskCRC(c uint32) uint32 { return (c>>15 | c<<17) + 0xa282ead8 }

// tableEntry is one key/value pair of a table, in key order.
type tableEntry struct {
	key, value []byte
}

// blockHandle locates a block inside the table file.
type blockHandle struct{ offset, size uint64 }

func decodeHandle(b []byte) (blockHandle, int, error) {
	off, n := binary.Uvarint(b)
	if n <= 0 {
		return blockHandle{}, 0, fmt.Errorf("bad block handle offset")
	}
	size, m := binary.Uvarint(b[n:])
	if m <= 0 {
		return blockHandle{}, 0, fmt.Errorf("bad block handle size")
	}
	return blockHandle{off, size}, n + m, nil
}

// readTable decodes a whole table held in data. The entries come back in
// file order, which the writer guarantees is key order. name is only used in
// errors.
func readTable(data []byte) ([]tableEntry, error) {
	if len(data) < footerLen {
		return nil, fmt.Errorf("%w: table of %d bytes is shorter than its %d-byte footer", ErrCorrupt, len(data), footerLen)
	}
	footer := data[len(data)-footerLen:]
	if magic := binary.LittleEndian.Uint64(footer[40:]); magic != tableMagic {
		return nil, fmt.Errorf("%w: bad table magic %#x (not a LevelDB-format table)", ErrCorrupt, magic)
	}
	_, n, err := decodeHandle(footer[:maxHandleLen*2]) // metaindex: unused, TF writes no filters
	if err != nil {
		return nil, fmt.Errorf("%w: footer: %v", ErrCorrupt, err)
	}
	index, _, err := decodeHandle(footer[n:40])
	if err != nil {
		return nil, fmt.Errorf("%w: footer: %v", ErrCorrupt, err)
	}
	body := data[:len(data)-footerLen]
	idx, err := readBlock(body, index)
	if err != nil {
		return nil, fmt.Errorf("index block: %w", err)
	}
	handles, err := blockEntries(idx)
	if err != nil {
		return nil, fmt.Errorf("index block: %w", err)
	}
	var out []tableEntry
	var next uint64
	for i, h := range handles {
		bh, _, err := decodeHandle(h.value)
		if err != nil {
			return nil, fmt.Errorf("%w: index entry %d: %v", ErrCorrupt, i, err)
		}
		// Writers lay data blocks out one after another. Insisting on it
		// keeps reading linear: a crafted index naming one big block many
		// times would otherwise checksum it again and again.
		if bh.offset < next {
			return nil, fmt.Errorf("%w: data block %d at %d overlaps the block before it (ending at %d)", ErrCorrupt, i, bh.offset, next)
		}
		next = bh.offset + bh.size + trailerLen
		blk, err := readBlock(body, bh)
		if err != nil {
			return nil, fmt.Errorf("data block %d: %w", i, err)
		}
		ents, err := blockEntries(blk)
		if err != nil {
			return nil, fmt.Errorf("data block %d: %w", i, err)
		}
		for _, e := range ents {
			if len(out) > 0 && string(out[len(out)-1].key) >= string(e.key) {
				return nil, fmt.Errorf("%w: data block %d: key %q out of order", ErrCorrupt, i, e.key)
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// readBlock returns the contents of the block at h after checking its
// trailer.
func readBlock(body []byte, h blockHandle) ([]byte, error) {
	if h.offset > uint64(len(body)) || h.size > uint64(len(body))-h.offset || uint64(len(body))-h.offset-h.size < trailerLen {
		return nil, fmt.Errorf("%w: block at %d+%d runs past the end of the file (%d bytes before the footer)", ErrCorrupt, h.offset, h.size, len(body))
	}
	blk := body[h.offset : h.offset+h.size]
	trailer := body[h.offset+h.size : h.offset+h.size+trailerLen]
	crc := crc32.Update(crc32.Checksum(blk, castagnoli), castagnoli, trailer[:1])
	if want := binary.LittleEndian.Uint32(trailer[1:]); maskCRC(crc) != want {
		return nil, fmt.Errorf("%w: block at %d: checksum mismatch (stored %#x, computed %#x)", ErrCorrupt, h.offset, want, maskCRC(crc))
	}
	switch trailer[0] {
	case noCompression:
		return blk, nil
	case snappyBlock:
		d, err := unsnappy(blk)
		if err != nil {
			return nil, fmt.Errorf("block at %d: %w", h.offset, err)
		}
		return d, nil
	default:
		return nil, fmt.Errorf("%w: block at %d: unknown compression type %d", ErrCorrupt, h.offset, trailer[0])
	}
}

// blockEntries decodes the prefix-compressed entries of one block. The
// restart array is checked for consistency but not needed: the block is read
// front to back.
func blockEntries(b []byte) ([]tableEntry, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: block of %d bytes has no restart count", ErrCorrupt, len(b))
	}
	nr := uint64(binary.LittleEndian.Uint32(b[len(b)-4:]))
	if nr == 0 || nr > uint64(len(b)-4)/4 {
		return nil, fmt.Errorf("%w: block of %d bytes claims %d restart points", ErrCorrupt, len(b), nr)
	}
	end := len(b) - 4 - int(nr)*4
	for i := range int(nr) {
		if r := binary.LittleEndian.Uint32(b[end+4*i:]); int64(r) >= int64(max(end, 1)) {
			return nil, fmt.Errorf("%w: restart point %d at %d is outside the %d entry bytes", ErrCorrupt, i, r, end)
		}
	}
	var out []tableEntry
	var prev []byte
	var keyBytes uint64
	for p := 0; p < end; {
		var hdr [3]uint64
		for i := range hdr {
			v, n := binary.Uvarint(b[p:end])
			if n <= 0 {
				return nil, fmt.Errorf("%w: entry at %d: bad varint", ErrCorrupt, p)
			}
			hdr[i] = v
			p += n
		}
		shared, unshared, vlen := hdr[0], hdr[1], hdr[2]
		if shared+unshared > maxKeyLen || shared+unshared < shared {
			return nil, fmt.Errorf("%w: entry at %d: key of more than %d bytes", ErrCorrupt, p, maxKeyLen)
		}
		if keyBytes += shared + unshared; keyBytes > maxKeyBytes {
			return nil, fmt.Errorf("%w: block keys exceed %d bytes", ErrCorrupt, maxKeyBytes)
		}
		if shared > uint64(len(prev)) {
			return nil, fmt.Errorf("%w: entry at %d shares %d key bytes, the previous key has %d", ErrCorrupt, p, shared, len(prev))
		}
		if unshared > uint64(end-p) || vlen > uint64(end-p)-unshared {
			return nil, fmt.Errorf("%w: entry at %d runs past the block", ErrCorrupt, p)
		}
		key := make([]byte, 0, int(shared+unshared))
		key = append(append(key, prev[:shared]...), b[p:p+int(unshared)]...)
		p += int(unshared)
		out = append(out, tableEntry{key: key, value: b[p : p+int(vlen)]})
		p += int(vlen)
		prev = key
	}
	return out, nil
}
