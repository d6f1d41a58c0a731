package web

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/classifyd/classifyd/api"
)

// reader reads request bodies, multipart parts, stored files and fetched
// URLs inside a request's memory lease: every buffer is reserved before it
// is allocated, so the inputs of many clients at once cannot hold more than
// the budget.
type reader struct {
	reserve func(n int64) error // grows the request's lease (waiting, bounded)
	shrink  func(n int64)       // gives part of it back
}

// readAll reads r to its end into one buffer of at most limit bytes
// (*http.MaxBytesError beyond), reserving before the buffer grows. size is
// the length r announced (Content-Length, a file's size; 0 = unknown): the
// buffer is allocated for it at once, and grown only if r holds more.
// It returns the data and the bytes its buffer holds reserved.
func (rd reader) readAll(r io.Reader, size, limit int64) ([]byte, int64, error) {
	const chunk = 64 << 10
	if size > limit {
		return nil, 0, &http.MaxBytesError{Limit: limit}
	}
	var buf []byte
	if size > 0 {
		// One byte more, so the EOF after exactly size bytes needs no
		// second buffer.
		if err := rd.reserve(size + 1); err != nil {
			return nil, 0, err
		}
		buf = make([]byte, 0, size+1)
	}
	for {
		if len(buf) == cap(buf) {
			old := int64(cap(buf))
			if old > limit {
				rd.shrink(old)
				return nil, 0, &http.MaxBytesError{Limit: limit}
			}
			next := old + min(max(old, chunk), limit+1-old)
			// Old and new buffer exist together during the copy.
			if err := rd.reserve(next); err != nil {
				rd.shrink(old)
				return nil, 0, err
			}
			grown := make([]byte, len(buf), next)
			copy(grown, buf)
			rd.shrink(old) // the old buffer is garbage now
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) > limit {
				rd.shrink(int64(cap(buf)))
				return nil, 0, &http.MaxBytesError{Limit: limit}
			}
			return buf, int64(cap(buf)), nil
		}
		if err != nil {
			rd.shrink(int64(cap(buf)))
			return nil, 0, err
		}
	}
}

// decodedBody returns the request body with its Content-Encoding undone:
// one layer of gzip or deflate (zlib, or raw deflate as some clients send),
// with limit applied to the decompressed size, so a bomb is a 413 however
// small it is on the wire. It returns the length of what the reader gives
// (0 if unknown) and the bytes of the lease it holds, to give back once the
// body is read.
//
// A compressed body is read whole (it is at most limit bytes), inflated
// once only to count, and then handed out through a second inflater: a
// bomb costs its compressed bytes and the CPU to inflate limit bytes,
// never memory for what it inflates to.
func decodedBody(r *http.Request, rd reader, limit int64) (io.Reader, int64, int64, error) {
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if enc == "" || enc == "identity" {
		return r.Body, max(r.ContentLength, 0), 0, nil
	}
	inflate, err := inflater(enc)
	if err != nil {
		return nil, 0, 0, err
	}
	data, held, err := rd.readAll(r.Body, max(r.ContentLength, 0), limit)
	if err != nil {
		return nil, 0, 0, err
	}
	zr, err := inflate(bytes.NewReader(data))
	if err != nil {
		rd.shrink(held)
		return nil, 0, 0, fmt.Errorf("%w: %s body: %s", api.ErrBadRequest, enc, api.Truncate(err.Error(), api.MaxQuoted))
	}
	n, err := io.Copy(io.Discard, &limitedReader{r: zr, left: limit, limit: limit})
	if err != nil {
		rd.shrink(held)
		return nil, 0, 0, err
	}
	zr, _ = inflate(bytes.NewReader(data)) // the same bytes inflated fine above
	return zr, n, held, nil
}

// inflater returns the decompressor of a Content-Encoding.
func inflater(enc string) (func(io.Reader) (io.Reader, error), error) {
	switch enc {
	case "gzip", "x-gzip":
		return func(r io.Reader) (io.Reader, error) {
			zr, err := gzip.NewReader(r)
			if err != nil {
				return nil, err
			}
			zr.Multistream(false)
			return zr, nil
		}, nil
	case "deflate":
		return func(r io.Reader) (io.Reader, error) {
			br := bufio.NewReader(r)
			head, _ := br.Peek(2)
			if len(head) == 2 && head[0]&0x0f == 8 && (uint16(head[0])<<8|uint16(head[1]))%31 == 0 {
				return zlib.NewReader(br)
			}
			return flate.NewReader(br), nil
		}, nil
	}
	return nil, fmt.Errorf("%w: %s (send the body as is, or gzip or deflate it once)", api.ErrBadEncoding, api.Quote(enc))
}

// limitedReader fails with *http.MaxBytesError once more than limit bytes
// come out of it, and turns a decompressor's corruption error into a bad
// request.
type limitedReader struct {
	r     io.Reader
	left  int64
	limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, &http.MaxBytesError{Limit: l.limit}
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, &http.MaxBytesError{Limit: l.limit}
	}
	var mb *http.MaxBytesError
	if err != nil && err != io.EOF && !errors.As(err, &mb) && !isTimeout(err) {
		err = fmt.Errorf("%w: compressed body: %v", api.ErrBadRequest, err)
	}
	return n, err
}

// isTimeout reports a read that hit the connection's read deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
