package ui

import "unicode/utf8"

// The provenance graph's geometry, in SVG user units.
const (
	graphNodeW   = 230
	graphNodeH   = 46
	graphColW    = 280
	graphRowH    = 64
	graphPad     = 10
	graphLabelCh = 30 // characters of a label that fit a node
	graphSubCh   = 30 // characters of its monospace second line
)

// graph is an image's provenance drawn as SVG on the server: what it was
// built from (source → build → image, bases → image) and what was built
// on it (image → images), each node a link when it has a page.
type graph struct {
	W, H  int
	Nodes []graphNode
	Edges []graphEdge
}

// graphNode is one box of the graph.
type graphNode struct {
	X, Y  int
	Kind  string // source, build, base, image, self
	Label string
	Sub   string
	URL   string
	Title string
}

// graphEdge is an arrow from the right of one node to the left of another.
type graphEdge struct{ X1, Y1, X2, Y2 int }

// newGraph lays out the graph of p in four columns: the source, the build
// and the bases, the image, the images built on it; every edge joins
// neighbouring columns.
func newGraph(p *imagePage) graph {
	var cols [4][]graphNode
	var build *graphNode
	if b := p.Build; b != nil {
		src := graphNode{Kind: "source", Label: "source", Title: "source"}
		switch {
		case b.Source.GitURL != "":
			src.Label, src.Sub, src.Title = b.Source.GitURL, b.Source.GitCommit, b.Source.GitURL+" "+b.Source.GitCommit
		case b.Source.ContextDigest != "":
			src.Label, src.Sub, src.Title = "uploaded context", shortDigest(b.Source.ContextDigest), string(b.Source.ContextDigest)
		}
		cols[0] = append(cols[0], src)
		// The build's colour says what it is; its label is its id.
		build = &graphNode{Kind: "build", Label: b.ID, Sub: b.Requester.Subject, Title: b.ID,
			URL: withQueryOne(Prefix+"builds", "repository", b.Repository)}
		cols[1] = append(cols[1], *build)
	}
	for _, b := range p.Bases {
		kind := "base"
		sub := shortDigest(b.Digest)
		if b.Runtime {
			sub += " (runtime)"
		}
		cols[1] = append(cols[1], graphNode{Kind: kind, Label: b.Ref, Sub: sub, URL: b.URL, Title: b.Ref + "@" + string(b.Digest)})
	}
	self := graphNode{Kind: "self", Label: p.Image.Repository, Sub: shortDigest(p.Image.Digest), Title: p.Image.Repository + "@" + string(p.Image.Digest)}
	cols[2] = append(cols[2], self)
	for _, im := range p.BuiltOn {
		cols[3] = append(cols[3], graphNode{Kind: "image", Label: im.Repository, Sub: shortDigest(im.Digest), URL: imageURL(im.Repository, im.Digest), Title: im.Repository + "@" + string(im.Digest)})
	}
	rows := 1
	for _, c := range cols {
		rows = max(rows, len(c))
	}
	g := graph{W: 4*graphColW - (graphColW - graphNodeW) + 2*graphPad, H: rows*graphRowH - (graphRowH - graphNodeH) + 2*graphPad}
	// Each column is centred vertically.
	for ci := range cols {
		top := graphPad + (rows-len(cols[ci]))*graphRowH/2
		for ri := range cols[ci] {
			n := &cols[ci][ri]
			n.X, n.Y = graphPad+ci*graphColW, top+ri*graphRowH
			n.Label, n.Sub = ellipsis(n.Label, graphLabelCh), ellipsis(n.Sub, graphSubCh)
		}
	}
	edge := func(a, b graphNode) graphEdge {
		return graphEdge{X1: a.X + graphNodeW, Y1: a.Y + graphNodeH/2, X2: b.X - 4, Y2: b.Y + graphNodeH/2}
	}
	selfNode := cols[2][0]
	if build != nil {
		g.Edges = append(g.Edges, edge(cols[0][0], cols[1][0]))
	}
	for _, n := range cols[1] {
		g.Edges = append(g.Edges, edge(n, selfNode))
	}
	for _, n := range cols[3] {
		g.Edges = append(g.Edges, edge(selfNode, n))
	}
	for _, c := range cols {
		g.Nodes = append(g.Nodes, c...)
	}
	return g
}

// ellipsis cuts s to n characters, ending with "…" when cut.
func ellipsis(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// withQueryOne is path with one query parameter.
func withQueryOne(path, key, value string) string {
	return withQuery(path, map[string][]string{key: {value}})
}
