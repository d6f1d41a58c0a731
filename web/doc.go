// Package web is the HTTP layer of the service: Gin handlers behind a plain
// http.Handler (New), the mapping of errors to statuses (api.ErrorStatusCode),
// and the embedded HTML test form.
//
// Routes:
//
//	POST /v1/classify  multipart (file "image", fields x, y, models, top_k),
//	                   a raw image body (x, y, models, top_k as query
//	                   parameters), or JSON {"image":{"b64"|"url"|"path"},
//	                   "x","y","models","top_k"}
//	GET  /v1/models    every configured model: status, engine, tensors,
//	                   preprocessing and crop rule, label count, top_k
//	GET  /healthz      the process answers
//	GET  /readyz       200 while at least one model serves, else 503
//	GET  /metrics      Prometheus
//	GET  /             the HTML form
//
// Every error answer is {"error":{"code":"...","message":"..."}}. Each
// limit (body size, pixel count, request timeout, per-client rate, path and
// URL input rules, API keys) is enforced here and has a test that fails
// without it. The handler is safe for concurrent use.
package web
