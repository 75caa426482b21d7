// Package civic holds civic's domain: the types every part of the platform
// talks about (bins, devices, readings, users, ...), the error kinds they
// fail with, and the interfaces the rest of the program needs from storage
// and services. It imports only the standard library, so every other package
// may depend on it and it depends on none of them.
package civic
