package h2loop

import (
	"io"
	"net/http"
	"net/url"
	"testing"
)

// BenchmarkWrapHandlerServePath is BenchmarkServePath with a net/http
// handler behind WrapHandler: the adapter's cost per request, for
// comparison with the native path's 0 allocations and net/http's own h2c
// server (about 36 per request, DESIGN.md). 8 allocations: the per-request
// state with its context and body (one), the *http.Request, the request
// header map (two) and one array for all its values, the response header
// map, and the handler's own Header().Set (two).
func BenchmarkWrapHandlerServePath(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello, world!\n")
	})
	mc, feed := newMemServer(b, WrapHandler(h))
	id := uint32(3)
	b.ReportAllocs()
	for b.Loop() {
		mc.request(b, feed, id)
		id += 2
	}
}

// parseRequestURI must give what url.ParseRequestURI gives, for the targets
// it handles itself and for the ones it hands over.
func TestParseRequestURIMatchesNetURL(t *testing.T) {
	targets := []string{
		"/", "/a/b", "/a/b?x=1&y=2", "/a?", "/a??", "/a?b?c", "//double", "/~user/a.b-c_d",
		"/$&+,:;=@", "/a%20b", "/a%2Fb", "/a b", "/a!b", "/a(b)", "/a*b", "/a'b", "/ä", "/a#frag",
		"/a?q=ä", "/a?q=\x01", "/a\x7f", "*", "", "a/b", "http://example.com/x", "/a?x=%zz", "/%zz",
		"/a?#", "/a;b=c", "/a?b c",
	}
	// and random ones over an alphabet with the interesting bytes
	alphabet := "/?%#ab;:@&=+$,~-_.!*'() \x01\x7fä"
	rnd := uint64(1)
	for i := 0; i < 5000; i++ {
		n := int(rnd % 12)
		b := []byte{'/'}
		for j := 0; j < n; j++ {
			rnd = rnd*6364136223846793005 + 1442695040888963407
			b = append(b, alphabet[(rnd>>33)%uint64(len(alphabet))])
		}
		rnd = rnd*6364136223846793005 + 1442695040888963407
		targets = append(targets, string(b))
	}
	for _, target := range targets {
		var u url.URL
		got, gotErr := parseRequestURI(&u, target)
		want, wantErr := url.ParseRequestURI(target)
		if (gotErr != nil) != (wantErr != nil) {
			t.Fatalf("%q: error %v, net/url %v", target, gotErr, wantErr)
		}
		if gotErr == nil && *got != *want {
			t.Fatalf("%q: %#v, net/url %#v", target, *got, *want)
		}
	}
}
