package codec_test

import (
	"fmt"
	"time"

	"github.com/sessionstore/sessionstore/codec"
)

type Profile struct {
	Name  string
	Langs []string
}

// Register the types a session stores with NewMsgPack; every value comes
// back with its exact type, and times with their zone.
func ExampleNewMsgPack() {
	c := codec.NewMsgPack(Profile{})
	paris, _ := time.LoadLocation("Europe/Paris")
	data, err := c.Encode(map[string]any{
		"profile": Profile{Name: "Ada", Langs: []string{"en", "fr"}},
		"visits":  uint16(3),
		"since":   time.Date(2024, 3, 1, 9, 0, 0, 0, paris),
	})
	if err != nil {
		panic(err)
	}
	values, err := c.Decode(data)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%T %+v\n", values["profile"], values["profile"])
	fmt.Printf("%T %v\n", values["visits"], values["visits"])
	fmt.Println(values["since"])
	// Output:
	// codec_test.Profile {Name:Ada Langs:[en fr]}
	// uint16 3
	// 2024-03-01 09:00:00 +0100 CET
}

// The JSON codec trades exact types for a format other languages read.
func ExampleJSON() {
	data, _ := codec.JSON{}.Encode(map[string]any{
		"visits": uint16(3),
		"since":  time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC),
		"token":  []byte{1, 2, 3},
	})
	fmt.Println(string(data))
	values, _ := codec.JSON{}.Decode(data)
	fmt.Printf("%T %T %T\n", values["visits"], values["since"], values["token"])
	// Output:
	// {"since":"2024-03-01T09:00:00Z","token":"AQID","visits":3}
	// int64 string string
}

// Slices and maps of strings, ints, floats, bools and byte slices need no
// registration, and come back with their own type, not as []any.
func ExampleDefault() {
	c := codec.Default()
	data, err := c.Encode(map[string]any{
		"roles":  []string{"admin", "editor"},
		"recent": []int64{42, 7},
		"prefs":  map[string]string{"theme": "dark"},
	})
	if err != nil {
		panic(err)
	}
	values, err := c.Decode(data)
	if err != nil {
		panic(err)
	}
	roles := values["roles"].([]string)
	fmt.Printf("%T %q\n", roles, roles)
	fmt.Printf("%T %v\n", values["recent"], values["recent"])
	fmt.Printf("%T %v\n", values["prefs"], values["prefs"])
	// Output:
	// []string ["admin" "editor"]
	// []int64 [42 7]
	// map[string]string map[theme:dark]
}
