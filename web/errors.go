package web

import (
	"errors"
	"io/fs"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/classifyd/classifyd/api"
	"github.com/classifyd/classifyd/classify"
)

// ctxKeyErr is where a handler leaves the error it answered with, for the
// request log line.
const ctxKeyErr = "classifyd.error"

// abortWithError answers err as JSON and remembers it for the log line.
// An overloaded server tells the client when to come back.
func abortWithError(c *gin.Context, err error) {
	status, body := api.ErrorJSON(err)
	if body.Code == "overloaded" {
		c.Header("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	c.Set(ctxKeyErr, err)
	c.AbortWithStatusJSON(status, gin.H{"error": body})
}

// retryAfterSeconds is what an overloaded server asks clients to wait:
// long enough for the requests holding memory to finish.
const retryAfterSeconds = 2

// loadErrorBody describes why a model failed to load with a stable code
// and a short message for /readyz and /v1/models. The detail (paths, the
// unsupported ops) is in the log line the load wrote, not in an answer
// that anyone may read.
func loadErrorBody(err error) api.ErrorBody {
	switch {
	case err == nil:
		return api.ErrorBody{Code: "load_failed", Message: "the model is not loaded"}
	case errors.Is(err, fs.ErrNotExist):
		return api.ErrorBody{Code: "file_not_found", Message: "a model or labels file does not exist; the server log names it"}
	case errors.Is(err, classify.ErrUnsupportedOp):
		return api.ErrorBody{Code: "unsupported_op", Message: "the graph uses ops the engine does not implement; the server log lists them"}
	case errors.Is(err, classify.ErrEngineUnavailable):
		return api.ErrorBody{Code: "engine_unavailable", Message: "the model's engine is not linked into this build"}
	case errors.Is(err, classify.ErrInvalidGraph):
		return api.ErrorBody{Code: "invalid_graph", Message: "the model is not a usable graph or does not match its manifest entry; see the server log"}
	}
	return api.ErrorBody{Code: "load_failed", Message: "the model failed to load; see the server log"}
}
