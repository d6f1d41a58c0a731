package savedmodel

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// IsSavedModel reports whether dir holds saved_model.pb or saved_model.pbtxt.
func IsSavedModel(dir string) bool {
	for _, f := range []string{ProtoFile, TextProtoFile} {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil && !st.IsDir() {
			return true
		}
	}
	return false
}

// Versions lists the versions below a TensorFlow Serving base path, oldest
// first: the subfolders named by a non-negative integer that hold a
// SavedModel.
func Versions(base string) ([]int64, error) {
	ents, err := os.ReadDir(base)
	if err != nil {
		return nil, fmt.Errorf("savedmodel: %w", err)
	}
	var vs []int64
	for _, e := range ents {
		v, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil || v < 0 || !e.IsDir() || !IsSavedModel(filepath.Join(base, e.Name())) {
			continue
		}
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	return vs, nil
}

// Resolve returns dir itself when it is a SavedModel, else the folder of
// the newest version below it (TF Serving's default version policy), with
// that version (-1 when dir is the SavedModel).
func Resolve(dir string) (string, int64, error) {
	if IsSavedModel(dir) {
		return dir, -1, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", 0, fmt.Errorf("savedmodel: %w", err)
	}
	vs, err := Versions(dir)
	if err != nil {
		return "", 0, err
	}
	if len(vs) == 0 {
		return "", 0, fmt.Errorf("savedmodel %s: %w: no %s and none of its %d entries is a numeric version folder holding one", dir, ErrNotSavedModel, ProtoFile, len(ents))
	}
	v := vs[len(vs)-1]
	// Folder names may be zero-padded ("00000123"): find the one that parsed.
	for _, e := range ents {
		if n, err := strconv.ParseInt(e.Name(), 10, 64); err == nil && n == v && IsSavedModel(filepath.Join(dir, e.Name())) {
			return filepath.Join(dir, e.Name()), v, nil
		}
	}
	return "", 0, fmt.Errorf("savedmodel %s: %w: version %d vanished while reading", dir, ErrNotSavedModel, v)
}
