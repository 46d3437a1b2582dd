// Package gctune sets the garbage collector of the hallmark CLI, a
// short-lived process, before the packages it links initialize: the
// collector runs when the heap has grown fivefold rather than twofold,
// unless the heap nears 1 GiB. GOGC and GOMEMLIMIT, when set, win.
//
// The CLI imports it for its side effect. Go initializes packages in the
// order of their import paths wherever their own imports allow, and this
// one imports only the runtime's neighbours, so it runs before the
// packages whose initialization allocates most (govalidator's regular
// expressions, which sigstore-go links through Rekor's types, and
// distribution/reference's): their ~4 MB no longer start a collection
// before main, which took 2–3 ms of the CLI's ~16 ms start on two cores.
// `hallmark verify --offline` also spends about a sixth less CPU.
package gctune
