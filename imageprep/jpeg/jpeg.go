// Package jpeg is a pure-Go JPEG decoder built for the request path: it
// decodes baseline and progressive Huffman-coded files (any integral
// sampling factors, grayscale, YCbCr, Adobe RGB/CMYK/YCCK), scales in the DCT
// domain by 1/2, 1/4 and 1/8, and reconstructs only the blocks a region of
// interest covers, so a crop of a 12 MP photo costs its Huffman decoding plus
// the pixels actually used. DecodeRegions serves several crops at their own
// scales with one Huffman pass.
//
// It follows ITU-T T.81 and the JFIF, EXIF and Adobe APP14 conventions, and
// matches libjpeg-turbo's output (islow IDCT, its reduced-size IDCTs and
// "fancy" triangular chroma upsampling) to within a couple of levels. 12-bit,
// lossless, hierarchical and arithmetic-coded files are refused with an error
// wrapping ErrUnsupported; malformed or truncated input yields an error
// wrapping ErrCorrupt and never a partial image. The one tolerance is
// libjpeg's: in a file with restart markers, an interval whose data or
// marker is damaged is resynchronised at the next marker and the rest of
// it left with zero coefficients (mid-grey), so one bad interval does not
// lose a photo.
//
// On amd64 with AVX2 the IDCTs, chroma upsampling and colour conversion
// run as assembly whose output equals the portable Go kernels' bit for bit;
// build with -tags purego to leave the assembly out.
//
// All functions are safe for concurrent use: a decode shares nothing mutable
// with another except the pools its buffers come from.
package jpeg

import (
	"errors"
	"fmt"
	"image"
	"unsafe"
)

// The sentinel errors every failure wraps; test with errors.Is.
var (
	// ErrUnsupported means a valid JPEG that this decoder does not handle
	// (12-bit, lossless, hierarchical, arithmetic coding, DNL, fractional
	// sampling ratios).
	ErrUnsupported = errors.New("jpeg: unsupported feature")
	// ErrCorrupt means the input is not a well-formed JPEG or is truncated.
	ErrCorrupt = errors.New("jpeg: corrupt or truncated data")
	// ErrTooLarge means the decode would allocate more than Options.MaxBytes.
	ErrTooLarge = errors.New("jpeg: decode exceeds the memory limit")
	// ErrRegion means Options.Region does not intersect the image or
	// Options.Scale is not 1, 2, 4 or 8.
	ErrRegion = errors.New("jpeg: bad region or scale")
)

// ColorTransform is how the file's components map to colours, decided as
// libjpeg does: JFIF and Adobe transform flags first, component IDs next.
type ColorTransform uint8

// The colour models a file can carry.
const (
	ColorGray  ColorTransform = iota // one component
	ColorYCbCr                       // three components, converted to RGB
	ColorRGB                         // three components stored as RGB (Adobe transform 0 or IDs 'R','G','B')
	ColorCMYK                        // four components, Adobe (inverted) CMYK
	ColorYCCK                        // four components, Adobe transform 2
)

func (c ColorTransform) String() string {
	switch c {
	case ColorGray:
		return "gray"
	case ColorYCbCr:
		return "ycbcr"
	case ColorRGB:
		return "rgb"
	case ColorCMYK:
		return "cmyk"
	case ColorYCCK:
		return "ycck"
	}
	return fmt.Sprintf("ColorTransform(%d)", uint8(c))
}

// Component describes one colour component of the frame.
type Component struct {
	ID   uint8 // component identifier from SOF
	H, V int   // horizontal and vertical sampling factors (1..4)
}

// Header is what DecodeConfig learns from the markers before the first scan.
type Header struct {
	Width, Height int
	Components    []Component
	// Progressive is true for SOF2 files: their coefficients are kept for
	// the whole image until the last scan, which is what Cost charges.
	Progressive bool
	Color       ColorTransform
	// Orientation is the EXIF orientation tag (1..8), 1 when absent or
	// malformed. The decoder does not rotate; the caller applies it.
	Orientation int
	// buffered means coefficients for the whole image must be kept
	// (progressive, or a sequential file whose first scan lacks a component).
	buffered bool
}

// Cost is the number of bytes a full-image decode at the given scale
// (1, 2, 4 or 8) allocates: coefficient buffers, component planes, row
// scratch and the output pixels. A decode of a Region costs at most this.
// The server can reserve it before calling Decode.
func (h *Header) Cost(scale int) int64 {
	return h.CostRegions([]Options{{Scale: scale}})
}

// CostRegions is the number of bytes DecodeRegions(data, opts) allocates:
// the coefficient buffers once, for each option its planes, row scratch
// and output pixels, and the decoder's own state (stateBytes). It is 0 when
// an option is invalid (a scale other than 1, 2, 4 or 8, or a region
// outside the image), as DecodeRegions then fails before allocating.
func (h *Header) CostRegions(opts []Options) int64 {
	gs := make([]geometry, len(opts))
	for i, o := range opts {
		g, err := newGeometry(h, o.Scale, o.Region)
		if err != nil {
			return 0
		}
		gs[i] = g
	}
	return regionsCost(gs)
}

// stateBytes is what a decode allocates besides its buffers when the
// decoder pool is empty: the decoder struct (Huffman tables, the unstuffing
// buffer) and its small slices.
const stateBytes = int64(unsafe.Sizeof(decoder{})) + 64<<10

// regionsCost is CostRegions of outputs with geometries gs.
func regionsCost(gs []geometry) int64 {
	total := stateBytes
	for i, g := range gs {
		if i == 0 {
			total += g.coefBytes
		}
		total += g.targetBytes()
	}
	return total
}

// Options select what Decode produces.
type Options struct {
	// Scale is 1 (or 0), 2, 4 or 8: the output is ceil(W/Scale) x
	// ceil(H/Scale), reconstructed with reduced-size IDCTs (DC only at 8).
	Scale int
	// Region, in full-resolution coordinates, limits reconstruction to the
	// blocks it covers; the zero rectangle means the whole image. Huffman
	// decoding still covers the whole scan.
	Region image.Rectangle
	// MaxBytes, when positive, caps what the decode allocates (see
	// Header.Cost); over it Decode fails with ErrTooLarge before allocating.
	// In DecodeRegions it caps the total of all the options
	// (Header.CostRegions), and every positive MaxBytes must hold.
	MaxBytes int64
}

// Image is a decoded picture (or region of one) at the requested scale.
//
// Pix holds 8-bit samples interleaved, Channels per pixel: 3 (R, G, B) for
// colour files, 1 for grayscale. Row y of Rect starts at
// Pix[(y-Rect.Min.Y)*Stride]. Rect is in scaled coordinates: a Region
// (x0,y0)-(x1,y1) at scale s becomes (floor(x0/s),floor(y0/s))-(ceil(x1/s),
// ceil(y1/s)), clipped to the scaled image.
//
// Image implements image.Image. After Release, Pix must not be used.
type Image struct {
	Pix      []uint8
	Stride   int
	Channels int
	Rect     image.Rectangle
	// Header is the file's header, including its EXIF orientation.
	Header Header
	pooled *[]uint8
}

// Release hands Pix back to the pool so the next decode reuses it. Calling
// it twice, or on a nil Image, is harmless.
func (m *Image) Release() {
	if m == nil || m.pooled == nil {
		return
	}
	*m.pooled = m.Pix[:0]
	putBytes(m.pooled)
	m.pooled = nil
	m.Pix = nil
}

// DecodeConfig parses the markers up to the first scan and reports the
// frame's geometry without decoding pixels.
func DecodeConfig(data []byte) (Header, error) {
	var d decoder
	d.data = data
	if err := d.readHeaders(); err != nil {
		return Header{}, err
	}
	return d.hdr, nil
}

// Decode decodes data according to opt. It never panics: any input that is
// not a decodable JPEG yields an error wrapping ErrCorrupt, ErrUnsupported,
// ErrTooLarge or ErrRegion.
func Decode(data []byte, opt Options) (*Image, error) {
	imgs, err := DecodeRegions(data, []Options{opt})
	if err != nil {
		return nil, err
	}
	return imgs[0], nil
}

// DecodeRegions decodes data once for several outputs: the entropy-coded
// data is Huffman-decoded a single time and each opts[i] (its own Scale and
// Region) is reconstructed into result i, bit for bit what Decode(data,
// opts[i]) returns. A sequential file is reconstructed MCU row by MCU row
// for every option that needs the row, without a whole-image coefficient
// buffer; a progressive one keeps its coefficients once for all options.
// The MaxBytes of every option caps the total (Header.CostRegions). On
// error no image is returned; opts must not be empty (ErrRegion). Each
// result is Released separately.
func DecodeRegions(data []byte, opts []Options) (imgs []*Image, err error) {
	defer func() {
		// Belt and braces for the package boundary (fuzzing is what keeps
		// this path unused): a bug must become an error, not a crash.
		if r := recover(); r != nil {
			for _, m := range imgs {
				m.Release()
			}
			imgs, err = nil, fmt.Errorf("%w: internal error: %v", ErrCorrupt, r)
		}
	}()
	return decodeRegions(data, opts)
}

func decodeRegions(data []byte, opts []Options) ([]*Image, error) {
	if len(opts) == 0 {
		return nil, fmt.Errorf("%w: no options", ErrRegion)
	}
	d := getDecoder()
	defer putDecoder(d)
	d.data = data
	if err := d.readHeaders(); err != nil {
		return nil, err
	}
	return d.decodeImage(opts)
}

// decode is Decode without the recover, for the fuzz target.
func decode(data []byte, opt Options) (*Image, error) {
	imgs, err := decodeRegions(data, []Options{opt})
	if err != nil {
		return nil, err
	}
	return imgs[0], nil
}
