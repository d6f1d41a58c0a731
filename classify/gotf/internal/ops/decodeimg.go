package ops

// Image decoding inside graphs, so a model exported to take encoded image
// bytes (TF Serving "image_bytes" signatures) runs end to end: DecodeJpeg,
// DecodePng, DecodeBmp, DecodeGif, DecodeImage (dispatch on magic bytes),
// ExtractJpegShape, and DecodeBase64/EncodeBase64 (web-safe alphabet, as
// TensorFlow). Each decoder reads the header first and refuses, naming the
// node, an image over maxDecodePixels before allocating its pixels.
//
// JPEG and PNG use the project's own decoders (imageprep/jpeg, imageprep/png);
// BMP golang.org/x/image/bmp and GIF image/gif. Differences from TensorFlow's
// libjpeg/libpng/giflib kernels: JPEG pixels are the project decoder's (its
// IDCT and upsampling, fancy_upscaling and dct_method ignored; ratio uses its
// reduced-size IDCTs); channels=1 of a colour JPEG or PNG is computed from
// RGB (JFIF luma weights for JPEG, libpng's default weights for PNG), not
// read from the file's Y plane. DecodePng and DecodeImage with dtype uint16
// give a 16-bit PNG's samples (decoded by image/png); 8-bit and smaller
// files decoded as uint16, and the other formats, are scaled by 257 as
// libpng's synthesized 16 bits and TensorFlow's uint8->uint16 conversion;
// a 16-bit PNG decoded as uint8 keeps each sample's high byte (libpng's
// png_set_strip_16, as TensorFlow's png_io.cc asks).

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/gif"
	stdpng "image/png"

	"golang.org/x/image/bmp"

	"github.com/classifyd/classifyd/classify"
	jpegdec "github.com/classifyd/classifyd/imageprep/jpeg"
	pngdec "github.com/classifyd/classifyd/imageprep/png"
)

// maxDecodePixels caps width*height (times frames for GIF) one decode may
// produce: 100 megapixels.
const maxDecodePixels = 100 << 20

// scalarBytes returns the single string of a scalar (or one-element)
// string tensor.
func scalarBytes(n *Node, t *classify.Tensor) ([]byte, error) {
	if t.DType != classify.String || t.Len() != 1 || len(t.Shape) > 1 {
		return nil, n.InputErrorf("contents must be a string scalar, got %v %v", t.DType, t.Shape)
	}
	return t.Data.([][]byte)[0], nil
}

func checkPixels(n *Node, w, h, frames int) error {
	if w <= 0 || h <= 0 {
		return n.InputErrorf("image of %dx%d pixels", w, h)
	}
	if int64(w)*int64(h)*int64(max(frames, 1)) > maxDecodePixels {
		return n.InputErrorf("image of %dx%d pixels (%d frames) exceeds the %d-pixel limit", w, h, max(frames, 1), maxDecodePixels)
	}
	return nil
}

func decodeChannels(n *Node, allowed ...int64) (int, error) {
	c := n.Int("channels", 0)
	for _, a := range allowed {
		if c == a {
			return int(c), nil
		}
	}
	return 0, n.Errorf("channels %d: want one of %v", c, allowed)
}

// luma is the JFIF Y of an RGB pixel, rounded.
func luma(r, g, b uint8) uint8 {
	return uint8((19595*uint32(r) + 38470*uint32(g) + 7471*uint32(b) + 1<<15) >> 16)
}

// decodeJPEG decodes data to [H, W, C] uint8 with c channels (0: the
// file's, 1 or 3) at 1/ratio scale.
func decodeJPEG(n *Node, data []byte, c, ratio int) (*classify.Tensor, error) {
	h, err := jpegdec.DecodeConfig(data)
	if err != nil {
		return nil, n.InputErrorf("jpeg: %v", err)
	}
	if err := checkPixels(n, h.Width, h.Height, 1); err != nil {
		return nil, err
	}
	m, err := jpegdec.Decode(data, jpegdec.Options{Scale: ratio})
	if err != nil {
		return nil, n.InputErrorf("jpeg: %v", err)
	}
	defer m.Release()
	src := m.Channels
	if c == 0 {
		c = src
	}
	w, ht := m.Rect.Dx(), m.Rect.Dy()
	out := classify.NewTensor(classify.Uint8, ht, w, c)
	d := out.Data.([]uint8)
	for y := range ht {
		row := m.Pix[y*m.Stride:]
		for x := range w {
			o := (y*w + x) * c
			switch {
			case src == c:
				copy(d[o:o+c], row[x*src:x*src+src])
			case src == 1: // gray to RGB
				d[o], d[o+1], d[o+2] = row[x], row[x], row[x]
			default: // RGB to gray
				p := row[x*3:]
				d[o] = luma(p[0], p[1], p[2])
			}
		}
	}
	return out, nil
}

// fromImage converts a decoded image to [H, W, C] uint8. c 0 takes want,
// the file's own channel count.
func fromImage(img image.Image, c, want int) *classify.Tensor {
	if c == 0 {
		c = want
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := classify.NewTensor(classify.Uint8, h, w, c)
	d := out.Data.([]uint8)
	for y := range h {
		for x := range w {
			o := (y*w + x) * c
			nc := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			switch c {
			case 1:
				if gimg, ok := img.(*image.Gray); ok {
					d[o] = gimg.Pix[y*gimg.Stride+x]
				} else {
					d[o] = pngGray(nc.R, nc.G, nc.B)
				}
			case 2:
				d[o], d[o+1] = pngGray(nc.R, nc.G, nc.B), nc.A
			case 3:
				d[o], d[o+1], d[o+2] = nc.R, nc.G, nc.B
			case 4:
				d[o], d[o+1], d[o+2], d[o+3] = nc.R, nc.G, nc.B, nc.A
			}
		}
	}
	return out
}

// pngGray is libpng's default RGB-to-gray conversion (weights 6968, 23434,
// 2366 of 32768); exact on gray pixels.
func pngGray(r, g, b uint8) uint8 {
	if r == g && g == b {
		return r
	}
	return uint8((6968*uint32(r) + 23434*uint32(g) + 2366*uint32(b) + 16384) >> 15)
}

// decodePNG decodes to uint8, or to uint16 with bits16.
func decodePNG(n *Node, data []byte, c int, bits16 bool) (*classify.Tensor, error) {
	h, err := pngdec.DecodeConfig(data)
	if err != nil {
		return nil, n.InputErrorf("png: %v", err)
	}
	if err := checkPixels(n, h.Width, h.Height, 1); err != nil {
		return nil, err
	}
	want := 3
	switch h.ColorType {
	case pngdec.Gray:
		want = 1
	case pngdec.GrayAlpha:
		want = 2
	case pngdec.RGBA:
		want = 4
	}
	if h.HasTRNS && (want == 1 || want == 3) {
		want++ // libpng's tRNS to alpha
	}
	if bits16 && h.BitDepth == 16 {
		img, err := stdpng.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, n.InputErrorf("png: %v", err)
		}
		if b := img.Bounds(); b.Dx() != h.Width || b.Dy() != h.Height {
			return nil, n.InputErrorf("png: decoded %v, header %dx%d", b, h.Width, h.Height)
		}
		return fromImage16(img, c, want), nil
	}
	img, err := pngdec.Decode(data, pngdec.Options{})
	if err != nil {
		return nil, n.InputErrorf("png: %v", err)
	}
	out := fromImage(img, c, want)
	if bits16 {
		out = widen16(out)
	}
	return out, nil
}

// widen16 scales uint8 samples to uint16 by 257 (v<<8 | v).
func widen16(t *classify.Tensor) *classify.Tensor {
	out := classify.NewTensor(classify.Uint16, t.Shape...)
	d := out.Data.([]uint16)
	for i, v := range t.Data.([]uint8) {
		d[i] = uint16(v) * 257
	}
	return out
}

// fromImage16 is fromImage for 16-bit samples (non-premultiplied, as
// libpng gives them).
func fromImage16(img image.Image, c, want int) *classify.Tensor {
	if c == 0 {
		c = want
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := classify.NewTensor(classify.Uint16, h, w, c)
	d := out.Data.([]uint16)
	g16, isGray := img.(*image.Gray16)
	for y := range h {
		for x := range w {
			o := (y*w + x) * c
			nc := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
			switch c {
			case 1:
				if isGray {
					d[o] = g16.Gray16At(b.Min.X+x, b.Min.Y+y).Y
				} else {
					d[o] = pngGray16(nc.R, nc.G, nc.B)
				}
			case 2:
				d[o], d[o+1] = pngGray16(nc.R, nc.G, nc.B), nc.A
			case 3:
				d[o], d[o+1], d[o+2] = nc.R, nc.G, nc.B
			case 4:
				d[o], d[o+1], d[o+2], d[o+3] = nc.R, nc.G, nc.B, nc.A
			}
		}
	}
	return out
}

// pngGray16 is pngGray on 16-bit samples (libpng's 16-bit rgb_to_gray
// without gamma uses the same weights and rounding).
func pngGray16(r, g, b uint16) uint16 {
	if r == g && g == b {
		return r
	}
	return uint16((6968*uint64(r) + 23434*uint64(g) + 2366*uint64(b) + 16384) >> 15)
}

func decodeBMP(n *Node, data []byte, c int) (*classify.Tensor, error) {
	cfg, err := bmp.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, n.InputErrorf("bmp: %v", err)
	}
	if err := checkPixels(n, cfg.Width, cfg.Height, 1); err != nil {
		return nil, err
	}
	img, err := bmp.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, n.InputErrorf("bmp: %v", err)
	}
	want := 3
	if _, ok := img.(*image.NRGBA); ok {
		want = 4
	}
	return fromImage(img, c, want), nil
}

// decodeGIF returns [N, H, W, 3]: each frame drawn over the previous one
// (transparent pixels keep it), as TensorFlow's GIF kernel.
func decodeGIF(n *Node, data []byte, firstOnly bool) (*classify.Tensor, error) {
	cfg, err := gif.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, n.InputErrorf("gif: %v", err)
	}
	if err := checkPixels(n, cfg.Width, cfg.Height, 1); err != nil {
		return nil, err
	}
	// image/gif allocates every frame: count them in the block structure
	// first.
	frames, pixels := gifFrames(data)
	if firstOnly {
		frames = min(frames, 1)
	}
	if pixels > maxDecodePixels || int64(frames)*int64(cfg.Width)*int64(cfg.Height) > maxDecodePixels {
		return nil, n.InputErrorf("gif of %dx%d pixels and %d frames exceeds the %d-pixel limit", cfg.Width, cfg.Height, frames, maxDecodePixels)
	}
	g, err := gif.DecodeAll(bytes.NewReader(data))
	if err != nil {
		return nil, n.InputErrorf("gif: %v", err)
	}
	frames = len(g.Image)
	if firstOnly {
		frames = min(frames, 1)
	}
	if frames == 0 {
		return nil, n.InputErrorf("gif without frames")
	}
	w, h := cfg.Width, cfg.Height
	out := classify.NewTensor(classify.Uint8, frames, h, w, 3)
	d := out.Data.([]uint8)
	for f := range frames {
		frame := d[f*h*w*3 : (f+1)*h*w*3]
		if f > 0 {
			copy(frame, d[(f-1)*h*w*3:f*h*w*3])
		}
		p := g.Image[f]
		r := p.Bounds().Intersect(image.Rect(0, 0, w, h))
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				idx := p.ColorIndexAt(x, y)
				if int(idx) >= len(p.Palette) {
					continue
				}
				cr, cg, cb, ca := p.Palette[idx].RGBA()
				if ca == 0 {
					continue
				}
				o := (y*w + x) * 3
				frame[o], frame[o+1], frame[o+2] = uint8(cr>>8), uint8(cg>>8), uint8(cb>>8)
			}
		}
	}
	if firstOnly {
		out.Shape = classify.Shape{h, w, 3}
	}
	return out, nil
}

// gifFrames walks a GIF's blocks without decompressing and returns the
// number of image descriptors and the sum of their pixel counts; it stops
// quietly at anything malformed (the decoder then reports it).
func gifFrames(d []byte) (frames int, pixels int64) {
	if len(d) < 13 {
		return 0, 0
	}
	i := 13
	if d[10]&0x80 != 0 {
		i += 3 << (d[10]&7 + 1)
	}
	skipSub := func() bool {
		for i < len(d) {
			n := int(d[i])
			i += 1 + n
			if n == 0 {
				return true
			}
		}
		return false
	}
	for i < len(d) {
		switch d[i] {
		case 0x21: // extension: label, then sub-blocks
			i += 2
			if !skipSub() {
				return
			}
		case 0x2c: // image descriptor
			if i+10 > len(d) {
				return
			}
			w := int64(d[i+5]) | int64(d[i+6])<<8
			h := int64(d[i+7]) | int64(d[i+8])<<8
			frames++
			pixels += w * h
			packed := d[i+9]
			i += 10
			if packed&0x80 != 0 {
				i += 3 << (packed&7 + 1)
			}
			i++ // LZW minimum code size
			if !skipSub() {
				return
			}
		default: // trailer or garbage
			return
		}
	}
	return
}

func buildDecodeJpeg(n *Node, _ []*classify.Tensor) (Op, error) {
	c, err := decodeChannels(n, 0, 1, 3)
	if err != nil {
		return nil, err
	}
	ratio := int(n.Int("ratio", 1))
	switch ratio {
	case 1, 2, 4, 8:
	default:
		return nil, n.Errorf("ratio %d: want 1, 2, 4 or 8", ratio)
	}
	return OpFunc(func(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
		data, err := scalarBytes(n, in[0])
		if err != nil {
			return nil, err
		}
		out, err := decodeJPEG(n, data, c, ratio)
		if err != nil {
			return nil, err
		}
		return []*classify.Tensor{out}, nil
	}), nil
}

func buildDecodePng(n *Node, _ []*classify.Tensor) (Op, error) {
	c, err := decodeChannels(n, 0, 1, 2, 3, 4)
	if err != nil {
		return nil, err
	}
	dt := n.Type("dtype")
	if dt != classify.Invalid && dt != classify.Uint8 && dt != classify.Uint16 {
		return nil, n.Errorf("dtype %v not supported (uint8, uint16)", dt)
	}
	return OpFunc(func(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
		data, err := scalarBytes(n, in[0])
		if err != nil {
			return nil, err
		}
		out, err := decodePNG(n, data, c, dt == classify.Uint16)
		if err != nil {
			return nil, err
		}
		return []*classify.Tensor{out}, nil
	}), nil
}

func buildDecodeBmp(n *Node, _ []*classify.Tensor) (Op, error) {
	c, err := decodeChannels(n, 0, 3, 4)
	if err != nil {
		return nil, err
	}
	return OpFunc(func(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
		data, err := scalarBytes(n, in[0])
		if err != nil {
			return nil, err
		}
		out, err := decodeBMP(n, data, c)
		if err != nil {
			return nil, err
		}
		return []*classify.Tensor{out}, nil
	}), nil
}

func buildDecodeGif(n *Node, _ []*classify.Tensor) (Op, error) {
	return OpFunc(func(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
		data, err := scalarBytes(n, in[0])
		if err != nil {
			return nil, err
		}
		out, err := decodeGIF(n, data, false)
		if err != nil {
			return nil, err
		}
		return []*classify.Tensor{out}, nil
	}), nil
}

// buildDecodeImage dispatches on the first bytes, as tf.io.decode_image:
// dtype uint8, or float32 scaled to [0, 1] (convert_image_dtype).
func buildDecodeImage(n *Node, _ []*classify.Tensor) (Op, error) {
	c, err := decodeChannels(n, 0, 1, 3, 4)
	if err != nil {
		return nil, err
	}
	dt := n.Type("dtype")
	switch dt {
	case classify.Invalid:
		dt = classify.Uint8
	case classify.Uint8, classify.Uint16, classify.Float32:
	default:
		return nil, n.Errorf("dtype %v not supported (uint8, uint16, float32)", dt)
	}
	expand := n.Bool("expand_animations", true)
	return OpFunc(func(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
		data, err := scalarBytes(n, in[0])
		if err != nil {
			return nil, err
		}
		var out *classify.Tensor
		switch {
		case bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}):
			if c == 4 {
				return nil, n.InputErrorf("channels 4 of a JPEG")
			}
			out, err = decodeJPEG(n, data, c, 1)
		case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
			out, err = decodePNG(n, data, c, dt == classify.Uint16)
		case bytes.HasPrefix(data, []byte("GIF8")):
			if c == 1 || c == 4 {
				return nil, n.InputErrorf("channels %d of a GIF (3 or 0 only)", c)
			}
			out, err = decodeGIF(n, data, !expand)
		case bytes.HasPrefix(data, []byte("BM")):
			if c == 1 {
				return nil, n.InputErrorf("channels 1 of a BMP")
			}
			out, err = decodeBMP(n, data, c)
		default:
			return nil, n.InputErrorf("unknown image format (not JPEG, PNG, GIF or BMP)")
		}
		if err != nil {
			return nil, err
		}
		if dt == classify.Uint16 && out.DType == classify.Uint8 {
			out = widen16(out)
		}
		if dt == classify.Float32 {
			f := classify.NewTensor(classify.Float32, out.Shape...)
			fd := f.Float32s()
			for i, v := range out.Data.([]uint8) {
				fd[i] = float32(v) / 255
			}
			out = f
		}
		return []*classify.Tensor{out}, nil
	}), nil
}

func buildExtractJpegShape(n *Node, _ []*classify.Tensor) (Op, error) {
	dt := n.Type("output_type")
	switch dt {
	case classify.Invalid:
		dt = classify.Int32
	case classify.Int32, classify.Int64:
	default:
		return nil, n.Errorf("output_type %v: want int32 or int64", dt)
	}
	return OpFunc(func(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
		data, err := scalarBytes(n, in[0])
		if err != nil {
			return nil, err
		}
		h, err := jpegdec.DecodeConfig(data)
		if err != nil {
			return nil, n.InputErrorf("jpeg: %v", err)
		}
		v := []int64{int64(h.Height), int64(h.Width), int64(len(h.Components))}
		out := classify.NewTensor(dt, 3)
		for i, x := range v {
			if dt == classify.Int32 {
				out.Int32s()[i] = int32(x)
			} else {
				out.Data.([]int64)[i] = x
			}
		}
		return []*classify.Tensor{out}, nil
	}), nil
}

func buildBase64(decode bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		enc := base64.RawURLEncoding
		if !decode && n.Bool("pad", false) {
			enc = base64.URLEncoding
		}
		return OpFunc(func(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
			x := in[0]
			if x.DType != classify.String {
				return nil, n.InputErrorf("input must be a string tensor, got %v", x.DType)
			}
			out := classify.NewTensor(classify.String, x.Shape...)
			od := out.Data.([][]byte)
			for i, s := range x.Data.([][]byte) {
				if !decode {
					od[i] = []byte(enc.EncodeToString(s))
					continue
				}
				// TensorFlow accepts the web-safe alphabet with or without
				// padding.
				s = bytes.TrimRight(s, "=")
				b, err := enc.DecodeString(string(s))
				if err != nil {
					return nil, n.InputErrorf("element %d: invalid web-safe base64: %v", i, err)
				}
				od[i] = b
			}
			return []*classify.Tensor{out}, nil
		}), nil
	}
}

func init() {
	Register("DecodeJpeg", buildDecodeJpeg)
	Register("DecodePng", buildDecodePng)
	Register("DecodeBmp", buildDecodeBmp)
	Register("DecodeGif", buildDecodeGif)
	Register("DecodeImage", buildDecodeImage)
	allowDTypes("DecodePng", classify.Uint16)
	allowDTypes("DecodeImage", classify.Uint16)
	Register("ExtractJpegShape", buildExtractJpegShape)
	Register("DecodeBase64", buildBase64(true))
	Register("EncodeBase64", buildBase64(false))
}
