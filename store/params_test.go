package store

import (
	"math"
	"reflect"
	"testing"

	"github.com/mabeam/mabeam/space"
)

// FuzzDecodeParams checks that the fast decoder of trials.params agrees
// with space.Assignment's UnmarshalJSON on any input.
func FuzzDecodeParams(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, `{"x":1.5,"n":3,"s":"a","b":true,"f":false}`, `{"big":123456789012345678901234}`,
		`{"e":1e5,"E":-2E-3,"z":-0,"zf":-0.0}`, `{"q":"say \"hi\""}`, `{"u":"\u00e9"}`, `{"a": 1}`,
		`{"a":01}`, `{"a":+1}`, `{"a":.5}`, `{"a":1.}`, `{"a":Inf}`, `{"a":[1,2]}`, `{"a":{"b":1}}`,
		`{"a":null}`, `{"a":1,}`, `{"a":1,"a":2.0}`, `{"a":"x"y}`, `{"a"}`, "{\"a\":\"\xff\"}", `{"a":"b,c"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want space.Assignment
		wantErr := want.UnmarshalJSON([]byte(s))
		got, err := decodeParams([]byte(s))
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: err %v, UnmarshalJSON err %v", s, err, wantErr)
		}
		if err != nil {
			return
		}
		if len(got) != len(want) || (got == nil) != (want == nil) {
			t.Fatalf("%q: got %#v, want %#v", s, got, want)
		}
		for k, w := range want {
			g := got[k]
			if reflect.TypeOf(g) != reflect.TypeOf(w) {
				t.Fatalf("%q: %s is %T, want %T", s, k, g, w)
			}
			if gf, ok := g.(float64); ok {
				if wf := w.(float64); math.Float64bits(gf) != math.Float64bits(wf) {
					t.Fatalf("%q: %s = %v, want %v", s, k, gf, wf)
				}
			} else if g != w {
				t.Fatalf("%q: %s = %#v, want %#v", s, k, g, w)
			}
		}
	})
}

func TestDecodeParamsTakesFastPath(t *testing.T) {
	a := space.Assignment{"x": 0.25, "n": -4, "s": "ring", "b": true, "w": 3.0}
	b, err := a.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	got, ok := decodeFlat(string(b))
	if !ok || !reflect.DeepEqual(got, a) {
		t.Errorf("decodeFlat(%s) = %v, %v; want %v", b, got, ok, a)
	}
}
