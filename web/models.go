package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/classifyd/classifyd/api"
	"github.com/classifyd/classifyd/classify"
)

// api.Response shapes of GET /v1/models.
type (
	modelsResponse struct {
		Models []modelInfo `json:"models"`
	}
	modelInfo struct {
		Name       string              `json:"name"`
		Status     string              `json:"status"` // "ready" or "failed"
		Error      *api.ErrorBody      `json:"error,omitempty"`
		Engine     string              `json:"engine"`
		Input      tensorInfo          `json:"input"`
		Output     tensorInfo          `json:"output"`
		Preprocess classify.Preprocess `json:"preprocess"`
		Crop       cropInfo            `json:"crop"`
		Labels     int                 `json:"labels"`
		TopK       int                 `json:"top_k"`
		// Signature is set for a SavedModel entry only, so frozen-graph
		// entries read as they always did.
		Signature *signatureInfo `json:"signature,omitempty"`
	}
	// signatureInfo is the SignatureDef served: Input and Output above are
	// two of its keys. Version is the TF Serving version folder loaded
	// from a base path, absent when the entry names the SavedModel
	// directory itself. The directory is in the log, not here.
	signatureInfo struct {
		Key     string            `json:"key"`
		Method  string            `json:"method"`
		Version *int64            `json:"version,omitempty"`
		Tags    []string          `json:"tags"`
		Inputs  []signatureTensor `json:"inputs"`
		Outputs []signatureTensor `json:"outputs"`
	}
	// signatureTensor is one input or output of a signature; Shape is
	// null for an unknown rank, -1 marks an unknown dimension.
	signatureTensor struct {
		Key   string         `json:"key"`
		DType string         `json:"dtype"`
		Shape classify.Shape `json:"shape"`
	}
	tensorInfo struct {
		Name  string         `json:"name"`
		DType string         `json:"dtype,omitempty"`
		Shape classify.Shape `json:"shape"`
	}
	// cropInfo spells out the crop rule so a client can draw the box: a
	// square of Pixels, or of Fraction times the shorter side, centred on
	// the point and shifted to stay inside the image ("full" = no crop).
	cropInfo struct {
		Kind     string  `json:"kind"` // "fraction", "pixels" or "full"
		Fraction float64 `json:"fraction,omitempty"`
		Pixels   int     `json:"pixels,omitempty"`
		Rule     string  `json:"rule"`
	}
)

const cropRule = "square centred on the point, shifted to stay inside the image, clamped to the image size"

func (s *server) models(c *gin.Context) {
	resp := modelsResponse{Models: make([]modelInfo, 0, len(s.o.Classifiers))}
	for _, cl := range s.o.Classifiers {
		resp.Models = append(resp.Models, describe(cl))
	}
	c.JSON(http.StatusOK, resp)
}

func describe(cl *classify.Classifier) modelInfo {
	m := modelInfo{
		Name:       cl.Name,
		Status:     "ready",
		Engine:     cl.Engine,
		Input:      tensorInfo{Name: cl.Input},
		Output:     tensorInfo{Name: cl.Output},
		Preprocess: cl.Preprocess,
		Labels:     len(cl.Labels),
		TopK:       cl.TopK,
	}
	if !cl.Ready() {
		m.Status = "failed"
		body := loadErrorBody(cl.Err)
		m.Error = &body
	}
	if cl.Info.Engine != "" {
		m.Engine = cl.Info.Engine
	}
	for _, t := range cl.Info.Inputs {
		if sameTensor(t.Name, cl.Input) {
			m.Input = tensorInfo{Name: cl.Input, DType: t.DType.String(), Shape: t.Shape}
		}
	}
	for _, t := range cl.Info.Outputs {
		if sameTensor(t.Name, cl.Output) {
			m.Output = tensorInfo{Name: cl.Output, DType: t.DType.String(), Shape: t.Shape}
		}
	}
	if sm := cl.Info.SavedModel; sm != nil {
		m.Signature = describeSignature(cl.Info, sm)
	}
	p := cl.Preprocess
	switch {
	case p.CropPixels > 0:
		m.Crop = cropInfo{Kind: "pixels", Pixels: p.CropPixels, Rule: cropRule}
	case p.CropFraction > 0:
		m.Crop = cropInfo{Kind: "fraction", Fraction: p.CropFraction, Rule: cropRule}
	default:
		m.Crop = cropInfo{Kind: "full", Rule: "the whole image"}
	}
	return m
}

func describeSignature(info classify.ModelInfo, sm *classify.SavedModelInfo) *signatureInfo {
	s := &signatureInfo{Key: info.Signature, Method: sm.Method, Tags: append([]string{}, sm.Tags...),
		Inputs: signatureTensors(info.Inputs), Outputs: signatureTensors(info.Outputs)}
	if sm.Version >= 0 {
		v := sm.Version
		s.Version = &v
	}
	return s
}

func signatureTensors(ts []classify.TensorInfo) []signatureTensor {
	out := make([]signatureTensor, 0, len(ts))
	for _, t := range ts {
		out = append(out, signatureTensor{Key: t.Name, DType: t.DType.String(), Shape: t.Shape})
	}
	return out
}

func sameTensor(a, b string) bool {
	trim := func(s string) string {
		if len(s) > 2 && s[len(s)-2:] == ":0" {
			return s[:len(s)-2]
		}
		return s
	}
	return trim(a) == trim(b)
}

func (s *server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz is 200 while at least one model serves ("ready" when all do,
// "degraded" when some failed, listed with their errors) and 503 when none
// does, so a load balancer keeps a partially working instance in rotation.
//
// /readyz is open even when API keys are set, so each failure is a stable
// code and a short message, never the load error itself (file paths, op
// lists), which is in the log.
func (s *server) readyz(c *gin.Context) {
	failed := map[string]api.ErrorBody{}
	ready := []string{}
	for _, cl := range s.o.Classifiers {
		if cl.Ready() {
			ready = append(ready, cl.Name)
			continue
		}
		failed[cl.Name] = loadErrorBody(cl.Err)
	}
	status, code := "ready", http.StatusOK
	switch {
	case len(ready) == 0:
		status, code = "unavailable", http.StatusServiceUnavailable
	case len(failed) > 0:
		status = "degraded"
	}
	c.JSON(code, gin.H{"status": status, "ready": ready, "failed": failed})
}
