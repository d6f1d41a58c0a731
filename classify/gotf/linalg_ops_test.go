package gotf

import (
	"context"
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestLinalgOpsThroughEngine loads the multi-output linear-algebra ops
// (fetched by output index) and a few single-output ones through the whole
// loader, shape inference included.
func TestLinalgOpsThroughEngine(t *testing.T) {
	f32 := classify.Float32
	b := graphdef.New()
	x := b.Placeholder("x", f32, classify.Shape{2, 2})
	b.Op("Qr", "qr", []graphdef.Output{x}, graphdef.Attrs{"T": f32, "full_matrices": false})
	b.Op("Svd", "svd", []graphdef.Output{x}, graphdef.Attrs{"T": f32, "compute_uv": true, "full_matrices": false})
	b.Op("SelfAdjointEigV2", "eig", []graphdef.Output{x}, graphdef.Attrs{"T": f32, "compute_v": true})
	b.Op("LogMatrixDeterminant", "slogdet", []graphdef.Output{x}, graphdef.Attrs{"T": f32})
	b.Op("Lu", "lu", []graphdef.Output{x}, graphdef.Attrs{"T": f32, "output_idx_type": classify.Int32})
	inv := b.Op("MatrixInverse", "inv", []graphdef.Output{x}, graphdef.Attrs{"T": f32, "adjoint": false})
	b.Op("BatchMatMulV3", "eye", []graphdef.Output{x, inv}, graphdef.Attrs{"Ta": f32, "Tb": f32, "Tout": f32, "adj_x": false, "adj_y": false})
	m := openBuilder(t, b, classify.OpenOptions{})
	defer m.Close()

	// [[2 1] [1 2]]: det 3, eigenvalues 1 and 3.
	xin := &classify.Tensor{DType: f32, Shape: classify.Shape{2, 2}, Data: []float32{2, 1, 1, 2}}
	res, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": xin},
		[]string{"qr:0", "qr:1", "svd:0", "svd:1", "svd:2", "eig:0", "eig:1", "slogdet:0", "slogdet:1", "lu:0", "lu:1", "eye"})
	if err != nil {
		t.Fatal(err)
	}
	near := func(what string, got []float32, want ...float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %v, want %v", what, got, want)
		}
		for i := range want {
			if math.Abs(float64(got[i])-want[i]) > 1e-5 {
				t.Fatalf("%s: %v, want %v", what, got, want)
			}
		}
	}
	r5 := math.Sqrt(5)
	near("q", res[0].Float32s(), -2/r5, -1/r5, -1/r5, 2/r5)
	near("r", res[1].Float32s(), -r5, -4/r5, 0, 3/r5)
	near("s", res[2].Float32s(), 3, 1)
	near("eigenvalues", res[5].Float32s(), 1, 3)
	near("sign, log|det|", append(res[7].Float32s(), res[8].Float32s()...), 1, math.Log(3))
	near("lu", res[9].Float32s(), 2, 1, 0.5, 1.5)
	if p := res[10].Int32s(); len(p) != 2 || p[0] != 0 || p[1] != 1 {
		t.Errorf("p %v, want [0 1]", res[10].Data)
	}
	near("x·inv(x)", res[11].Float32s(), 1, 0, 0, 1)
	if !res[3].Shape.Equal(classify.Shape{2, 2}) || !res[6].Shape.Equal(classify.Shape{2, 2}) {
		t.Errorf("u %v, v %v", res[3].Shape, res[6].Shape)
	}
}
