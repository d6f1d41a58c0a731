package api

import (
	"image"
	"math"
	"time"

	"github.com/classifyd/classifyd/classify"
)

// Response is the body of a POST /v1/classify answer. `classify predict
// --json` prints the same, built by the same NewResponse.
type Response struct {
	Image      ImageSize              `json:"image"`
	Point      Point                  `json:"point"`
	Results    map[string]ModelResult `json:"results"`
	DurationMS float64                `json:"duration_ms"`
	Error      *ErrorBody             `json:"error,omitempty"` // only when every model failed
}

// ImageSize is the decoded image's size, after EXIF orientation.
type ImageSize struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Point is the pixel the crops are centred on.
type Point struct {
	X int `json:"x"`
	Y int `json:"y"`
}

// ModelResult is one model's answer: its labels and inference time, or its
// error.
type ModelResult struct {
	Labels     []classify.Label `json:"labels,omitempty"`
	DurationMS *float64         `json:"duration_ms,omitempty"`
	Error      *ErrorBody       `json:"error,omitempty"`
}

// NewResponse assembles the answer for the classifiers cs from the results
// of classify.ClassifyAll. When every model failed it sets Response.Error
// and returns the request's error (whose status ErrorStatusCode derives
// from the first model's error); otherwise it returns nil. DurationMS is left for the caller, who knows when the
// request started.
func NewResponse(size, pt image.Point, cs []*classify.Classifier, results map[string]classify.Result) (*Response, error) {
	resp := &Response{
		Image:   ImageSize{Width: size.X, Height: size.Y},
		Point:   Point{X: pt.X, Y: pt.Y},
		Results: make(map[string]ModelResult, len(results)),
	}
	var firstErr error
	failed := 0
	for _, cl := range cs {
		r := results[cl.Name]
		if r.Err != nil {
			failed++
			if firstErr == nil {
				firstErr = r.Err
			}
			_, body := ErrorJSON(r.Err)
			resp.Results[cl.Name] = ModelResult{Error: &body}
			continue
		}
		d := Milliseconds(r.Duration)
		resp.Results[cl.Name] = ModelResult{Labels: r.Labels, DurationMS: &d}
	}
	if len(cs) > 0 && failed == len(cs) {
		err := &allFailedError{first: firstErr}
		_, body := ErrorJSON(err)
		resp.Error = &body
		return resp, err
	}
	return resp, nil
}

// Milliseconds is d in milliseconds, rounded to the microsecond: how
// answers and logs report durations.
func Milliseconds(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }
