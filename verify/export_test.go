package verify

// SetJoinHook makes e call f each time a request starts or joins a shared
// verification, with the number of requests now waiting for it.
func SetJoinHook(e *Evaluator, f func(waiters int)) {
	e.flights.mu.Lock()
	defer e.flights.mu.Unlock()
	e.flights.joined = f
}
