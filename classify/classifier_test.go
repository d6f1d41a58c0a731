package classify_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/classifyd/classifyd/classify"
)

// fakeModel is a classify.Model whose behaviour each test sets.
type fakeModel struct {
	run func(ctx context.Context, in map[string]*classify.Tensor, out []string) ([]*classify.Tensor, error)
}

func (m *fakeModel) Info() classify.ModelInfo { return classify.ModelInfo{Engine: "fake"} }
func (m *fakeModel) Close() error             { return nil }
func (m *fakeModel) Run(ctx context.Context, in map[string]*classify.Tensor, out []string) ([]*classify.Tensor, error) {
	return m.run(ctx, in, out)
}

// echoModel returns its input (flattened to one row) as the probabilities, so
// tests control the answer through the prepared tensor.
func echoModel(input string) *fakeModel {
	return &fakeModel{run: func(ctx context.Context, in map[string]*classify.Tensor, out []string) ([]*classify.Tensor, error) {
		x, ok := in[input]
		if !ok {
			return nil, classify.ErrInvalidInput
		}
		return []*classify.Tensor{classify.FromFloat32(x.Float32s(), 1, x.Len())}, nil
	}}
}

func TestClassify(t *testing.T) {
	labels := []string{"bg", "cat", "dog", "fish"}
	tests := []struct {
		name  string
		c     classify.Classifier
		x     *classify.Tensor
		k     int
		want  []classify.Label
		errIs error
	}{
		{
			name: "top2 with skip",
			c:    classify.Classifier{Name: "m", Model: echoModel("in"), Input: "in", Output: "out", Labels: labels, Skip: []int{0}},
			x:    classify.FromFloat32([]float32{0.9, 0.02, 0.05, 0.03}, 1, 4),
			k:    2,
			want: []classify.Label{{Label: "dog", Index: 2, Probability: 0.05}, {Label: "fish", Index: 3, Probability: 0.03}},
		},
		{
			name: "label offset",
			c:    classify.Classifier{Name: "m", Model: echoModel("in"), Input: "in", Output: "out", Labels: labels[1:], LabelOffset: 1},
			x:    classify.FromFloat32([]float32{0.1, 0.6, 0.3}, 1, 3),
			k:    1,
			want: []classify.Label{{Label: "cat", Index: 1, Probability: 0.6}},
		},
		{
			name: "k from classifier",
			c:    classify.Classifier{Name: "m", Model: echoModel("in"), Input: "in", Output: "out", Labels: labels, TopK: 1},
			x:    classify.FromFloat32([]float32{0.1, 0.2, 0.3, 0.4}, 4),
			want: []classify.Label{{Label: "fish", Index: 3, Probability: 0.4}},
		},
		{
			name:  "not loaded",
			c:     classify.Classifier{Name: "m", Err: errors.New("boom")},
			x:     classify.FromFloat32([]float32{1}, 1),
			errIs: classify.ErrModelUnavailable,
		},
		{
			name: "complex scores refused",
			c: classify.Classifier{Name: "m", Input: "in", Output: "out", Labels: labels, Model: &fakeModel{run: func(context.Context, map[string]*classify.Tensor, []string) ([]*classify.Tensor, error) {
				return []*classify.Tensor{classify.NewTensor(classify.Complex64, 1, 4)}, nil
			}}},
			x:     classify.FromFloat32([]float32{1}, 1),
			errIs: classify.ErrInvalidGraph,
		},
		{
			name:  "run error kept",
			c:     classify.Classifier{Name: "m", Model: echoModel("other"), Input: "in", Output: "out"},
			x:     classify.FromFloat32([]float32{1}, 1),
			errIs: classify.ErrInvalidInput,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.c.Classify(context.Background(), tt.x, tt.k)
			if tt.errIs != nil {
				if !errors.Is(err, tt.errIs) {
					t.Fatalf("err = %v, want %v", err, tt.errIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("label %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestClassifyOutputShape(t *testing.T) {
	tests := []struct {
		name string
		out  *classify.Tensor
	}{
		{"two rows", classify.FromFloat32([]float32{1, 2, 3, 4}, 2, 2)},
		{"int output", &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{1, 2}, Data: []int32{1, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := classify.Classifier{Name: "m", Input: "in", Output: "out", Model: &fakeModel{
				run: func(context.Context, map[string]*classify.Tensor, []string) ([]*classify.Tensor, error) {
					return []*classify.Tensor{tt.out}, nil
				}}}
			_, err := c.Classify(context.Background(), classify.FromFloat32([]float32{1}, 1), 1)
			if !errors.Is(err, classify.ErrInvalidGraph) {
				t.Fatalf("err = %v, want ErrInvalidGraph", err)
			}
		})
	}
}

func TestClassifyAll(t *testing.T) {
	// Each slow model waits until all of them have started: this only
	// finishes if ClassifyAll runs them concurrently.
	const n = 3
	var started atomic.Int32
	allStarted := make(chan struct{})
	slow := &fakeModel{run: func(ctx context.Context, in map[string]*classify.Tensor, out []string) ([]*classify.Tensor, error) {
		if started.Add(1) == n {
			close(allStarted)
		}
		select {
		case <-allStarted:
		case <-time.After(10 * time.Second):
			return nil, errors.New("models did not run concurrently")
		}
		time.Sleep(5 * time.Millisecond)
		x := in["in"]
		return []*classify.Tensor{classify.FromFloat32(x.Float32s(), 1, x.Len())}, nil
	}}
	panics := &fakeModel{run: func(context.Context, map[string]*classify.Tensor, []string) ([]*classify.Tensor, error) {
		panic("kernel bug")
	}}
	mk := func(name string, m classify.Model, width int) *classify.Classifier {
		return &classify.Classifier{Name: name, Model: m, Input: "in", Output: "out",
			Labels: []string{"a", "b", "c"}, Preprocess: classify.Preprocess{Width: width}}
	}
	cs := []*classify.Classifier{
		mk("one", slow, 1), mk("two", slow, 2), mk("three", slow, 3),
		mk("panics", panics, 1),
		mk("badprep", slow, -1),
		{Name: "failed", Err: errors.New("no such file")},
	}
	var prepared atomic.Int32
	prepare := func(p classify.Preprocess) (*classify.Tensor, error) {
		prepared.Add(1)
		if p.Width < 0 {
			return nil, classify.ErrInvalidInput
		}
		// The answer depends on the preprocessing, so each model must get
		// its own prepared input.
		x := make([]float32, 3)
		x[p.Width-1] = 1
		return classify.FromFloat32(x, 1, 3), nil
	}
	res := classify.ClassifyAll(context.Background(), cs, prepare, 1)
	if len(res) != len(cs) {
		t.Fatalf("%d results, want %d", len(res), len(cs))
	}
	for i, name := range []string{"one", "two", "three"} {
		r := res[name]
		if r.Err != nil {
			t.Fatalf("%s: %v", name, r.Err)
		}
		if len(r.Labels) != 1 || r.Labels[0].Index != i {
			t.Errorf("%s: labels %v, want index %d", name, r.Labels, i)
		}
		if r.Duration < 5*time.Millisecond {
			t.Errorf("%s: duration %v, want >= 5ms (the model sleeps)", name, r.Duration)
		}
	}
	if err := res["panics"].Err; err == nil {
		t.Error("panicking model: no error")
	}
	if err := res["badprep"].Err; !errors.Is(err, classify.ErrInvalidInput) {
		t.Errorf("badprep: err = %v, want ErrInvalidInput", err)
	}
	if err := res["failed"].Err; !errors.Is(err, classify.ErrModelUnavailable) {
		t.Errorf("failed: err = %v, want ErrModelUnavailable", err)
	}
	if got := prepared.Load(); got != 5 {
		t.Errorf("prepare called %d times, want 5 (once per loaded model)", got)
	}
}

func TestClassifyAllCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := &classify.Classifier{Name: "m", Model: echoModel("in"), Input: "in", Output: "out"}
	res := classify.ClassifyAll(ctx, []*classify.Classifier{c}, func(classify.Preprocess) (*classify.Tensor, error) {
		t.Error("prepare called after cancellation")
		return nil, nil
	}, 1)
	if err := res["m"].Err; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
