package api_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"net/http"
	"testing"

	"github.com/classifyd/classifyd/api"
	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/imageprep"
	"github.com/classifyd/classifyd/internal/budget"
)

func TestErrorStatusCode(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("context: %w", err) }
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{&http.MaxBytesError{Limit: 1}, 413, "body_too_large"},
		{wrap(imageprep.ErrTooLarge), 413, "image_too_large"},
		{wrap(api.ErrTooLarge), 413, "input_too_large"},
		{wrap(imageprep.ErrFormat), 415, "unsupported_image"},
		{wrap(imageprep.ErrCorrupt), 422, "corrupt_image"},
		{wrap(imageprep.ErrPoint), 422, "point_outside_image"},
		{wrap(api.ErrBadRequest), 400, "bad_request"},
		{wrap(api.ErrUnauthorized), 401, "unauthorized"},
		{wrap(api.ErrForbidden), 403, "forbidden"},
		{wrap(classify.ErrModelNotFound), 404, "model_not_found"},
		{wrap(api.ErrRateLimited), 429, "rate_limited"},
		{wrap(context.DeadlineExceeded), 504, "timeout"},
		{wrap(api.ErrFetch), 502, "fetch_failed"},
		{wrap(classify.ErrModelUnavailable), 503, "model_unavailable"},
		{wrap(classify.ErrUnsupportedOp), 500, "inference_failed"},
		{wrap(budget.ErrBusy), 503, "overloaded"},
		{wrap(budget.ErrExceeds), 413, "input_too_large"},
		{wrap(api.ErrBadEncoding), 415, "unsupported_media_type"},
		{wrap(context.Canceled), 499, "canceled"},
		// A client gone wins over the error its abandoned request hit.
		{fmt.Errorf("%w (%w)", context.Canceled, api.ErrBadRequest), 499, "canceled"},
		{errors.New("anything else"), 500, "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			status, code := api.ErrorStatusCode(tt.err)
			if status != tt.status || code != tt.code {
				t.Errorf("ErrorStatusCode(%v) = %d %s, want %d %s", tt.err, status, code, tt.status, tt.code)
			}
		})
	}
}

// When every model fails, the request's status follows the first model's
// error: the server's or the client's doing keeps its status, a bad
// image stays the client's 4xx, anything else is a 500.
func TestAllModelsFailed(t *testing.T) {
	cs := []*classify.Classifier{{Name: "a"}, {Name: "b"}}
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{context.Canceled, 499, "canceled"},
		{context.DeadlineExceeded, 504, "timeout"},
		{classify.ErrModelUnavailable, 503, "model_unavailable"},
		{imageprep.ErrCorrupt, 422, "corrupt_image"},
		{classify.ErrInvalidInput, 500, "inference_failed"},
		{api.ErrBadRequest, 500, "inference_failed"},
	}
	for _, tt := range tests {
		results := map[string]classify.Result{"a": {Err: fmt.Errorf("model a: %w", tt.err)}, "b": {Err: errors.New("b broke")}}
		resp, err := api.NewResponse(image.Pt(4, 4), image.Pt(1, 1), cs, results)
		status, code := api.ErrorStatusCode(err)
		if status != tt.status || code != tt.code || resp.Error == nil || resp.Error.Code != tt.code {
			t.Errorf("%v: %d %s (body %+v), want %d %s", tt.err, status, code, resp.Error, tt.status, tt.code)
		}
	}
	// One model answering makes the request a success.
	results := map[string]classify.Result{"a": {Err: context.Canceled}, "b": {Labels: []classify.Label{{Label: "x"}}}}
	if _, err := api.NewResponse(image.Pt(4, 4), image.Pt(1, 1), cs, results); err != nil {
		t.Errorf("one model answered, err = %v", err)
	}
}
