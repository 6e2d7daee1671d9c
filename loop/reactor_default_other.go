//go:build !linux

package loop

// defaultReactor is Options.Reactor's default here: netpoll's own
// connections (the fd reactor builds on the BSDs and macOS but has only
// been run on Linux).
const defaultReactor = "netpoll"
