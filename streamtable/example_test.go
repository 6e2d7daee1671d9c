package streamtable_test

import (
	"errors"
	"fmt"

	"github.com/h2loop/h2loop/streamtable"
)

type stream struct {
	state string
	sent  int
}

func Example() {
	// One table per connection, sized by SETTINGS_MAX_CONCURRENT_STREAMS.
	streams := streamtable.New[stream](2)

	st, _ := streams.Insert(1) // the record lives in the table: keep the pointer
	st.state = "open"
	st, _ = streams.Insert(3)
	st.state = "half-closed (remote)"

	if _, err := streams.Insert(5); errors.Is(err, streamtable.ErrFull) {
		fmt.Println("stream 5 refused: table full")
	}

	streams.Get(1).sent += 100
	fmt.Println(streams.Get(1).state, streams.Get(1).sent)

	streams.Delete(1)
	fmt.Println(streams.Get(1) == nil, streams.Len(), streams.Cap())
	// Output:
	// stream 5 refused: table full
	// open 100
	// true 1 2
}
