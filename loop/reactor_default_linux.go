package loop

// defaultReactor is Options.Reactor's default here: the fd reactor, run
// and measured on Linux (see PERF.md).
const defaultReactor = "fd"
