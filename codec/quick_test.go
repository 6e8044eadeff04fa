package codec

import (
	"reflect"
	"testing"
	"time"
)

func TestQuickMsgPack(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	in := map[string]any{"a": 1, "b": int64(5), "c": uint8(3), "d": "x", "e": []any{"r", 2.5}, "t": time.Now().In(paris), "n": nil, "m": map[string]any{"z": float32(1)}}
	c := Default()
	b, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range in {
		if tt, ok := v.(time.Time); ok {
			o := out[k].(time.Time)
			if !o.Equal(tt) || o.Location().String() != "Europe/Paris" {
				t.Errorf("%s: %v vs %v", k, o, tt)
			}
			continue
		}
		if !reflect.DeepEqual(v, out[k]) {
			t.Errorf("%s: %#v vs %#v", k, v, out[k])
		}
	}
	t.Logf("%d bytes", len(b))
}
