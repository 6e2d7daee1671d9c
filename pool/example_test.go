package pool_test

import (
	"fmt"
	"time"

	"github.com/h2loop/h2loop/pool"
)

// A pool of one worker and a queue of one: the first task starts, the
// second waits, the third is refused by the caller.
func Example() {
	release := make(chan struct{})
	done := make(chan string, 3)
	p := pool.New(pool.Options[string]{
		MaxWorkers:   1,
		QueueSize:    1,
		QueueTimeout: time.Minute,
		Run: func(name string) {
			if name == "slow" {
				<-release
			}
			done <- name
		},
		Expire: func(name string) { done <- name + " expired" },
	})
	defer p.Close()

	for _, name := range []string{"slow", "next", "extra"} {
		if r := p.Submit(name); r == pool.Rejected {
			fmt.Println(name, r, "(answer 503 here)")
		} else {
			fmt.Println(name, r)
		}
	}
	close(release)
	fmt.Println(<-done, "ran")
	fmt.Println(<-done, "ran")
	// Output:
	// slow started
	// next queued
	// extra rejected (answer 503 here)
	// slow ran
	// next ran
}
