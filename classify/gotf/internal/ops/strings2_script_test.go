package ops

import (
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/classifyd/classifyd/classify"
)

func TestUnicodeScript(t *testing.T) {
	// Every script Go knows has its ICU code, and the codes are distinct.
	seen := map[int32]string{}
	for name := range unicode.Scripts {
		c, ok := icuScriptCodes[name]
		if !ok {
			t.Errorf("no ICU code for script %s", name)
		}
		if other, dup := seen[c]; dup {
			t.Errorf("%s and %s share code %d", name, other, c)
		}
		seen[c] = name
	}
	// tf.strings.unicode_script's docstring ([1, 31, 38] are Common),
	// uscript.h's example (U+0D02 is Malayalam) and hand cases from
	// Scripts.txt: Latin, Cyrillic, Han, Hiragana, a combining mark
	// (Inherited), an emoji (Common), private use, unassigned and a
	// surrogate (Unknown), and out-of-range values (-1).
	in := []int32{1, 31, 38, 0x0D02, 'a', 0x42F, 0x4E2D, 0x3042, 0x0301, 0x1F60A, 0xE000, 0x0378, 0xD800, -1, 0x110000, 0x10FFFF}
	want := []int32{0, 0, 0, 26, 25, 8, 17, 20, 1, 0, 103, 103, 103, -1, -1, 103}
	x := &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{2, 8}, Data: in}
	out := mustRunAttr(t, "UnicodeScript", nil, x)[0]
	if !out.Shape.Equal(classify.Shape{2, 8}) || !reflect.DeepEqual(out.Data, want) {
		t.Errorf("scripts %v %v, want %v", out.Shape, out.Data, want)
	}
	if out := mustRunAttr(t, "UnicodeScript", nil, i32Vec())[0]; out.Len() != 0 {
		t.Errorf("empty: %v", out.Shape)
	}
	if _, err := runAttrOp(t, "UnicodeScript", nil, i64Tensor(1)); err == nil || !strings.Contains(err.Error(), "UnicodeScript") {
		t.Errorf("int64 input: %v", err)
	}
}
