package classify

// Preprocess says how a decoded image and a point on it become one model's
// input tensor: crop a square around the point, resize, order the channels
// and scale the values. It is plain data, read from the model manifest and
// applied by package imageprep.
type Preprocess struct {
	// CropFraction is the side of the square crop as a fraction of the
	// image's shorter side (0.8 for the theme model). CropPixels is the side
	// in pixels instead (9 for the color model's patch). When both are zero
	// the whole image is used. The square is centred on the point and shifted
	// to stay inside the image.
	CropFraction float64 `json:"crop_fraction,omitempty" yaml:"crop_fraction,omitempty"`
	CropPixels   int     `json:"crop_pixels,omitempty" yaml:"crop_pixels,omitempty"`
	// Width and Height of the model input.
	Width  int `json:"width" yaml:"width"`
	Height int `json:"height" yaml:"height"`
	// Resize is the resampling filter: "bilinear" (default), "nearest",
	// "box", "catmullrom", "lanczos", or "tf_bilinear" (TensorFlow's
	// tf.image.resize bilinear: half-pixel centres, no antialiasing).
	Resize string `json:"resize,omitempty" yaml:"resize,omitempty"`
	// Channels is "RGB" (default) or "BGR".
	Channels string `json:"channels,omitempty" yaml:"channels,omitempty"`
	// Range maps pixel values 0..255 linearly onto [Range[0], Range[1]],
	// e.g. [-1, 1] or [0, 1]. Otherwise Mean and Std (one value or one per
	// channel, on the 0..255 scale) give (v - mean) / std. With neither, the
	// values stay 0..255.
	Range []float32 `json:"range,omitempty" yaml:"range,omitempty"`
	Mean  []float32 `json:"mean,omitempty" yaml:"mean,omitempty"`
	Std   []float32 `json:"std,omitempty" yaml:"std,omitempty"`
}
