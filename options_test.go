package h2loop

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/h2loop/h2loop/engine"
	"github.com/h2loop/h2loop/loop"
)

// markedOptions returns the names of the fields of file marked as Server
// options (see internal/optgen).
func markedOptions(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^\t(\w+) [^\n]*// h2loop\.Server option$`).FindAllSubmatch(b, -1) {
		names = append(names, string(m[1]))
	}
	if len(names) == 0 {
		t.Fatalf("%s: no field marked as a Server option", file)
	}
	return names
}

// distinct returns a non-zero value of type typ that differs per i (and
// from every default), or false for a type options do not have.
func distinct(typ reflect.Type, i int) (reflect.Value, bool) {
	v := reflect.New(typ).Elem()
	switch {
	case typ == reflect.TypeOf(time.Duration(0)):
		v.SetInt(int64(time.Duration(i+1)*time.Hour + 7*time.Millisecond))
	case typ.Kind() == reflect.Int || typ.Kind() == reflect.Int64:
		v.SetInt(int64(70001 + i))
	case typ.Kind() == reflect.Uint32:
		v.SetUint(uint64(70001 + i))
	case typ.Kind() == reflect.Bool:
		v.SetBool(true)
	case typ.Kind() == reflect.String:
		v.SetString("h3=\":443\"")
	case typ == reflect.TypeOf([]string(nil)):
		v.Set(reflect.ValueOf([]string{"https://example.com"}))
	default:
		return v, false
	}
	return v, true
}

// setOptions sets every option named in names on s to a distinct value.
func setOptions(t *testing.T, s *Server, names []string, decl reflect.Type) {
	t.Helper()
	sv := reflect.ValueOf(s).Elem()
	for i, name := range names {
		sf, ok := sv.Type().FieldByName(name)
		if !ok {
			t.Errorf("%s.%s is a Server option, but Server has no field %s: run go generate ./...", decl, name, name)
			continue
		}
		df, _ := decl.FieldByName(name)
		if sf.Type != df.Type {
			t.Errorf("Server.%s is a %v, %s.%s a %v", name, sf.Type, decl, name, df.Type)
			continue
		}
		v, ok := distinct(sf.Type, i)
		if !ok {
			t.Fatalf("no test value for an option of type %v (%s)", sf.Type, name)
		}
		sv.FieldByIndex(sf.Index).Set(v)
	}
}

// Every option declared in engine.Config and loop.Options, set on the
// Server, reaches the Core's configuration: as given (loop options), or
// as engine.Config.Normalize makes of it (protocol options). And no
// Server field re-declares an engine.Config or loop.Options field that is
// not marked as an option (a copy by hand, which could drift).
func TestOptionsReachCore(t *testing.T) {
	engineOpts := markedOptions(t, "engine/config.go")
	loopOpts := markedOptions(t, "loop/core.go")
	et, lt := reflect.TypeOf(engine.Config{}), reflect.TypeOf(loop.Options{})

	s := &Server{Handler: HandlerFunc(func(*RequestCtx) {})}
	setOptions(t, s, engineOpts, et)
	setOptions(t, s, loopOpts, lt)
	core, err := s.init()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// What Normalize makes of the options as set, and of none.
	var want, def engine.Config
	sv := reflect.ValueOf(s).Elem()
	for _, name := range engineOpts {
		reflect.ValueOf(&want).Elem().FieldByName(name).Set(sv.FieldByName(name))
	}
	want.Normalize()
	def.Normalize()
	got := reflect.ValueOf(core.EngineConfig()).Elem()
	for _, name := range engineOpts {
		g, w, d := got.FieldByName(name).Interface(), reflect.ValueOf(want).FieldByName(name).Interface(), reflect.ValueOf(def).FieldByName(name).Interface()
		if !reflect.DeepEqual(g, w) {
			t.Errorf("engine.Config.%s = %v, want %v (Server.%s = %v)", name, g, w, name, sv.FieldByName(name).Interface())
		}
		if reflect.DeepEqual(g, d) {
			t.Errorf("engine.Config.%s = %v, the default: Server.%s was not copied", name, g, name)
		}
	}
	lo := reflect.ValueOf(core.Options()).Elem()
	for _, name := range loopOpts {
		if g, w := lo.FieldByName(name).Interface(), sv.FieldByName(name).Interface(); !reflect.DeepEqual(g, w) {
			t.Errorf("loop.Options.%s = %v, want Server.%s = %v", name, g, name, w)
		}
	}

	marked := map[string]bool{}
	for _, n := range append(engineOpts, loopOpts...) {
		marked[n] = true
	}
	for _, decl := range []reflect.Type{et, lt} {
		for i := range decl.NumField() {
			f := decl.Field(i)
			// ConnState is passed as it is, and documented on the Server
			// (loop.Options's doc points there); fields of another type
			// (ConnContext) are adapted by hand.
			sf, ok := sv.Type().FieldByName(f.Name)
			if ok && f.IsExported() && sf.Type == f.Type && !marked[f.Name] && f.Name != "ConnState" {
				t.Errorf("Server.%s re-declares %s.%s by hand: mark it there as a Server option", f.Name, decl, f.Name)
			}
		}
	}
}

// TestNegativeOptionsMeanDefaults: a negative limit or timeout means its
// default (only MaxRequestBodySize, IdleTimeout and StreamIdleTimeout give
// a negative value a meaning of its own), and a server so configured serves: a
// negative ReadTimeout once expired every HTTP/1.1 request body at once.
func TestNegativeOptionsMeanDefaults(t *testing.T) {
	own := map[string]bool{"MaxRequestBodySize": true, "IdleTimeout": true, "StreamIdleTimeout": true}
	handler := HandlerFunc(func(ctx *RequestCtx) {
		b, err := ctx.Body()
		if err != nil {
			ctx.SetStatus(500)
			return
		}
		ctx.Write(b)
	})
	neg := &Server{Handler: handler}
	zero := &Server{Handler: handler}
	sv := reflect.ValueOf(neg).Elem()
	var set []string
	for _, name := range append(markedOptions(t, "engine/config.go"), markedOptions(t, "loop/core.go")...) {
		f := sv.FieldByName(name)
		if own[name] || !f.IsValid() || (f.Kind() != reflect.Int && f.Kind() != reflect.Int64) {
			continue
		}
		f.SetInt(-1)
		set = append(set, name)
	}
	if len(set) < 10 {
		t.Fatalf("only %d signed options found: %v", len(set), set)
	}
	cn, err := neg.init()
	if err != nil {
		t.Fatal(err)
	}
	defer neg.Close()
	cz, err := zero.init()
	if err != nil {
		t.Fatal(err)
	}
	defer zero.Close()
	ge, we := reflect.ValueOf(cn.EngineConfig()).Elem(), reflect.ValueOf(cz.EngineConfig()).Elem()
	gl, wl := reflect.ValueOf(cn.Options()).Elem(), reflect.ValueOf(cz.Options()).Elem()
	for _, name := range set {
		g, w := ge.FieldByName(name), we.FieldByName(name)
		if !g.IsValid() {
			g, w = gl.FieldByName(name), wl.FieldByName(name)
		}
		if g.Int() != w.Int() {
			t.Errorf("%s = -1 became %v, the default is %v", name, g.Interface(), w.Interface())
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go neg.Serve(ln)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
	time.Sleep(50 * time.Millisecond) // the body comes a moment after the head
	io.WriteString(c, "hello")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "hello" {
		t.Fatalf("HTTP/1.1 POST with every limit negative: %d %q", resp.StatusCode, body)
	}
}
