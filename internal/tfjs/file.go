package tfjs

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ConvertFile converts the graph model at modelPath (a model.json), reading
// its shards from the same directory. No file is read past the limit that
// applies to it.
func ConvertFile(modelPath string, lim Limits) (*Model, error) {
	lim = lim.withDefaults()
	b, err := readLimited(modelPath, lim.MaxJSONBytes)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(modelPath)
	m, err := Convert(b, func(rel string, max int64) ([]byte, error) {
		return readLimited(filepath.Join(dir, filepath.FromSlash(rel)), max)
	}, lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", modelPath, err)
	}
	return m, nil
}

// readLimited reads a file, failing once it holds more than max bytes.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: %s is larger than the %d bytes allowed for it", ErrFormat, path, max)
	}
	return b, nil
}
