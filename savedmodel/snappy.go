package savedmodel

import (
	"encoding/binary"
	"fmt"
)

// maxSnappyLen bounds a decoded block: index blocks are a few KiB, and a
// corrupt length must not allocate gigabytes.
const maxSnappyLen = 64 << 20

// unsnappy decodes a Snappy block (the raw format, not the framed one):
// TensorFlow 1.x wrote bundle index blocks Snappy-compressed, newer versions
// write them uncompressed. The format is a varint of the decoded length and
// a run of literal and back-reference elements.
func unsnappy(src []byte) ([]byte, error) {
	n, k := binary.Uvarint(src)
	if k <= 0 || n > maxSnappyLen {
		return nil, fmt.Errorf("%w: snappy block: bad decoded length", ErrCorrupt)
	}
	// A corrupt length must not cost an allocation before any byte backs
	// it: start small and let the elements grow the buffer.
	dst := make([]byte, 0, min(n, 1<<16))
	src = src[k:]
	for len(src) > 0 {
		tag := src[0]
		src = src[1:]
		var length, offset int
		switch tag & 3 {
		case 0: // literal
			length = int(tag>>2) + 1
			if extra := int(tag>>2) - 59; extra > 0 {
				if len(src) < extra {
					return nil, fmt.Errorf("%w: snappy block: truncated literal length", ErrCorrupt)
				}
				v := 0
				for i := extra - 1; i >= 0; i-- {
					v = v<<8 | int(src[i])
				}
				length = v + 1
				src = src[extra:]
			}
			if length <= 0 || length > len(src) || len(dst)+length > int(n) {
				return nil, fmt.Errorf("%w: snappy block: literal of %d bytes overruns", ErrCorrupt, length)
			}
			dst = append(dst, src[:length]...)
			src = src[length:]
			continue
		case 1:
			if len(src) < 1 {
				return nil, fmt.Errorf("%w: snappy block: truncated copy", ErrCorrupt)
			}
			length = 4 + int(tag>>2)&7
			offset = int(tag>>5)<<8 | int(src[0])
			src = src[1:]
		case 2:
			if len(src) < 2 {
				return nil, fmt.Errorf("%w: snappy block: truncated copy", ErrCorrupt)
			}
			length = 1 + int(tag>>2)
			offset = int(binary.LittleEndian.Uint16(src))
			src = src[2:]
		case 3:
			if len(src) < 4 {
				return nil, fmt.Errorf("%w: snappy block: truncated copy", ErrCorrupt)
			}
			length = 1 + int(tag>>2)
			offset = int(binary.LittleEndian.Uint32(src))
			src = src[4:]
		}
		if offset <= 0 || offset > len(dst) || len(dst)+length > int(n) {
			return nil, fmt.Errorf("%w: snappy block: copy of %d bytes from offset %d overruns", ErrCorrupt, length, offset)
		}
		// Byte by byte: a copy may overlap the bytes it produces.
		start := len(dst) - offset
		for i := range length {
			dst = append(dst, dst[start+i])
		}
	}
	if len(dst) != int(n) {
		return nil, fmt.Errorf("%w: snappy block: decoded %d bytes, header says %d", ErrCorrupt, len(dst), n)
	}
	return dst, nil
}
