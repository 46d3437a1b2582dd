package vuln

import "slices"

// mergeAliases merges the matches of one package whose advisories are
// aliases of each other (GO-2024-3321 and GHSA-v778-237x-gjrc, both
// CVE-2024-45337) into one: the advisory that names the most of the others
// as aliases (ties: the smaller id) stands for them, with the union of
// their aliases and fixed versions, and its own severity (else the best
// of the others'). Advisories that are only related through upstream (a
// DSA and a CVE it fixes) stay apart.
func mergeAliases(ms []match) []match {
	if len(ms) < 2 {
		return ms
	}
	parent := make([]int, len(ms))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	first := map[string]int{} // identifier → first match carrying it
	for i, m := range ms {
		for _, ident := range append([]string{m.e.rec.ID}, m.e.rec.Aliases...) {
			if j, ok := first[ident]; ok {
				parent[find(i)] = find(j)
			} else {
				first[ident] = i
			}
		}
	}
	groups := map[int][]int{}
	for i := range ms {
		groups[find(i)] = append(groups[find(i)], i)
	}
	if len(groups) == len(ms) {
		return ms
	}
	out := make([]match, 0, len(groups))
	for i := range ms {
		g := groups[find(i)]
		if g[0] != i {
			continue // merged into the group's first member's slot
		}
		if len(g) == 1 {
			out = append(out, ms[i])
			continue
		}
		out = append(out, merged(ms, g))
	}
	return out
}

// merged folds one group of alias matches into one.
func merged(ms []match, g []int) match {
	ids := make([]string, len(g))
	for k, i := range g {
		ids[k] = ms[i].e.rec.ID
	}
	named := func(i int) int {
		n := 0
		for _, a := range ms[i].e.rec.Aliases {
			if slices.Contains(ids, a) {
				n++
			}
		}
		return n
	}
	rep := g[0]
	for _, i := range g[1:] {
		if n, best := named(i), named(rep); n > best || n == best && ms[i].e.rec.ID < ms[rep].e.rec.ID {
			rep = i
		}
	}
	m := ms[rep]
	m.aliases = slices.Clone(m.aliases)
	m.fixed = slices.Clone(m.fixed)
	var others Severity
	for _, i := range g {
		if i == rep {
			continue
		}
		o := ms[i]
		m.fixed = union(m.fixed, o.fixed)
		m.aliases = union(m.aliases, append([]string{o.e.rec.ID}, o.aliases...))
		if o.severity.Level != Unknown && better(o.severity, others) {
			others = o.severity
		}
	}
	if m.severity.Level == Unknown && others.Level != "" {
		m.severity = others
	}
	m.aliases = slices.DeleteFunc(m.aliases, func(a string) bool { return a == m.e.rec.ID })
	return m
}
