// Package api holds what the HTTP server and the command line share and
// nothing that needs the HTTP stack: the /v1/classify answer and its
// builder, the error sentinels of the service, and ErrorStatusCode, the one
// place where an error becomes a status and a stable code.
package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/imageprep"
	"github.com/classifyd/classifyd/internal/budget"
)

// Errors of the service's request handling. Handlers wrap them with context; the one
// mapping to statuses is ErrorStatusCode.
var (
	// ErrBadRequest means the request is malformed (bad field, bad JSON).
	ErrBadRequest = errors.New("bad request")
	// ErrUnsupportedMediaType means the request body is neither multipart,
	// JSON nor a raw image.
	ErrUnsupportedMediaType = errors.New("unsupported content type")
	// ErrUnauthorized means /v1/* was called without a valid API key.
	ErrUnauthorized = errors.New("missing or invalid API key")
	// ErrForbidden means an input the configuration does not allow: a path
	// outside the image root, a URL to a private address, a disabled input
	// kind.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound means no such route or no such stored image.
	ErrNotFound = errors.New("not found")
	// ErrMethodNotAllowed means the route exists for other methods.
	ErrMethodNotAllowed = errors.New("method not allowed")
	// ErrTooLarge means an input (body, fetched URL, stored file) is larger
	// than the configured cap.
	ErrTooLarge = errors.New("input too large")
	// ErrRateLimited means the client exceeded its request rate.
	ErrRateLimited = errors.New("rate limit exceeded")
	// ErrFetch means fetching a URL input failed upstream (DNS, connection,
	// non-2xx status).
	ErrFetch = errors.New("fetching the image URL failed")
	// ErrNoModel means no model could serve the request.
	ErrNoModel = errors.New("no model available")
	// ErrBadEncoding means a Content-Encoding the server does not
	// decompress (anything but one layer of gzip or deflate).
	ErrBadEncoding = errors.New("unsupported content encoding")
)

// allFailedError is the error of a classify request whose every model
// failed; its status follows the first model's error (see ErrorStatusCode).
type allFailedError struct{ first error }

func (e *allFailedError) Error() string { return "every model failed: " + e.first.Error() }
func (e *allFailedError) Unwrap() error { return e.first }

// publicError carries, beside the full error for the log, the message the
// client is shown: for failures whose detail (resolver addresses, open or
// closed ports, internal IPs) would tell an attacker about the network.
type publicError struct {
	public string
	err    error
}

func (e *publicError) Error() string { return e.public + ": " + e.err.Error() }
func (e *publicError) Unwrap() error { return e.err }

// WithPublic wraps err so the client sees only msg; ErrorStatusCode still
// sees err's sentinels.
func WithPublic(msg string, err error) error { return &publicError{public: msg, err: err} }

// StatusClientClosed is nginx's code for a request the client gave up on;
// nobody reads the answer, but logs and metrics should not call it a 5xx.
const StatusClientClosed = 499

// ErrorStatusCode maps an error to its HTTP status and a stable,
// machine-readable code. It is the ONE place where errors become statuses;
// every error response and per-model error entry goes through it.
func ErrorStatusCode(err error) (status int, code string) {
	var maxBytes *http.MaxBytesError
	var allFailed *allFailedError
	switch {
	case err == nil:
		return http.StatusOK, ""
	case errors.As(err, &allFailed):
		// The request failed as a whole: with the first model's status
		// when that is the server's or the client's doing (deadline,
		// unavailable model, a client gone), else a 500.
		// An image that turns out corrupt while a model decodes its part
		// is still the client's 4xx.
		status, code := ErrorStatusCode(allFailed.first)
		imageErr := errors.Is(allFailed.first, imageprep.ErrCorrupt) || errors.Is(allFailed.first, imageprep.ErrFormat) ||
			errors.Is(allFailed.first, imageprep.ErrTooLarge)
		if status < 500 && status != StatusClientClosed && !imageErr {
			return http.StatusInternalServerError, "inference_failed"
		}
		return status, code
	case errors.Is(err, context.Canceled):
		// Before everything else: a client that went away is a 499
		// whatever error its abandoned request ended with.
		return StatusClientClosed, "canceled"
	case errors.Is(err, budget.ErrBusy):
		return http.StatusServiceUnavailable, "overloaded"
	case errors.Is(err, budget.ErrExceeds):
		return http.StatusRequestEntityTooLarge, "input_too_large"
	case errors.Is(err, ErrBadEncoding):
		return http.StatusUnsupportedMediaType, "unsupported_media_type"
	case errors.As(err, &maxBytes):
		return http.StatusRequestEntityTooLarge, "body_too_large"
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "input_too_large"
	case errors.Is(err, imageprep.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "image_too_large"
	case errors.Is(err, imageprep.ErrFormat):
		return http.StatusUnsupportedMediaType, "unsupported_image"
	case errors.Is(err, ErrUnsupportedMediaType):
		return http.StatusUnsupportedMediaType, "unsupported_media_type"
	case errors.Is(err, imageprep.ErrCorrupt):
		return http.StatusUnprocessableEntity, "corrupt_image"
	case errors.Is(err, imageprep.ErrPoint):
		return http.StatusUnprocessableEntity, "point_outside_image"
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest, "bad_request"
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, classify.ErrModelNotFound):
		return http.StatusNotFound, "model_not_found"
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, ErrMethodNotAllowed):
		return http.StatusMethodNotAllowed, "method_not_allowed"
	case errors.Is(err, ErrRateLimited):
		return http.StatusTooManyRequests, "rate_limited"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "timeout"
	case errors.Is(err, ErrFetch):
		return http.StatusBadGateway, "fetch_failed"
	case errors.Is(err, classify.ErrModelUnavailable), errors.Is(err, ErrNoModel),
		errors.Is(err, classify.ErrEngineUnavailable):
		return http.StatusServiceUnavailable, "model_unavailable"
	case errors.Is(err, classify.ErrUnsupportedOp), errors.Is(err, classify.ErrInvalidGraph),
		errors.Is(err, classify.ErrInvalidInput):
		return http.StatusInternalServerError, "inference_failed"
	}
	return http.StatusInternalServerError, "internal"
}

// ErrorBody is the JSON shape of every error: {"error":{"code","message"}}.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// MaxMessage caps an error message sent to the client or written to a
// log line: whatever a message quotes, an answer stays small.
const MaxMessage = 512

// ErrorJSON builds the body for err. Unclassified internal errors are not
// echoed to the client (they may hold paths or engine internals); they are
// logged with the request instead.
func ErrorJSON(err error) (int, ErrorBody) {
	status, code := ErrorStatusCode(err)
	var pe *publicError
	var msg string
	switch {
	case code == "internal":
		msg = "internal error"
	case errors.As(err, &pe):
		msg = pe.public
	default:
		msg = Truncate(err.Error(), MaxMessage)
	}
	return status, ErrorBody{Code: code, Message: msg}
}

// MaxQuoted is how much of a client-supplied string an error quotes.
const MaxQuoted = 128

// Quote formats client input for an error message: quoted, cut to
// maxQuoted bytes (on a rune boundary) with its full length when longer,
// so a 19 MiB model name costs a 19 MiB answer no more.
func Quote(s string) string {
	if len(s) <= MaxQuoted {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(Truncate(s, MaxQuoted)), len(s))
}

// Truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
