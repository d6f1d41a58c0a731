package ops

import (
	"encoding/json"
	"os"
	"testing"
)

// fingerprintStrings are the inputs of testdata/fingerprint64/gen.js:
// every length 0..140 (all of FarmHash's length classes and several 64-byte
// loop counts) and a few texts, one of them UTF-8.
func fingerprintStrings() []string {
	var out []string
	for n := 0; n <= 140; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + (i*7+n)%26)
		}
		out = append(out, string(b))
	}
	return append(out, "hello world", "The quick brown fox", "\u00e9t\u00e9")
}

// TensorFlow.js's stringToHashBucketFast (its own Fingerprint64) computed
// testdata/fingerprint64/tfjs.json: node gen.js > tfjs.json with the
// oracle's tfjs 4.22. Two bucket counts check the 64-bit value modulo two
// coprime numbers.
func TestFingerprint64MatchesTFJS(t *testing.T) {
	data, err := os.ReadFile("testdata/fingerprint64/tfjs.json")
	if err != nil {
		t.Fatal(err)
	}
	var want struct{ A, B []uint64 }
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	strs := fingerprintStrings()
	if len(want.A) != len(strs) || len(want.B) != len(strs) {
		t.Fatalf("%d/%d golden values for %d strings", len(want.A), len(want.B), len(strs))
	}
	for i, s := range strs {
		fp := Fingerprint64([]byte(s))
		if fp%2147483647 != want.A[i] || fp%1000003 != want.B[i] {
			t.Errorf("len %d %q: fingerprint %#x mod = %d, %d; tfjs %d, %d", len(s), s, fp, fp%2147483647, fp%1000003, want.A[i], want.B[i])
		}
	}
}
