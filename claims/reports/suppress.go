package reports

import (
	"math"
	"slices"
)

// siteCanton is a site with the jurisdiction the report groups it under (by canton).
type siteCanton struct {
	Code   string `db:"code"`
	Canton string `db:"jurisdiction_code"`
}

// suppressionGroupings returns the groupings whose rows the answer grouped by by is suppressed
// with: the ungrouped rows (the months' totals) always, and by canton or by site both of these,
// so that the two answers hide the same cells and neither can be used to undo the other.
func suppressionGroupings(by string) []string {
	switch by {
	case "":
		return []string{""}
	case ByCanton, BySite:
		return []string{"", ByCanton, BySite}
	}
	return []string{"", by}
}

// suppressSmallCounts hides the counts (patients and encounters: one encounter is one patient)
// of every row with fewer than MinReportedPatients patients (primary suppression), and then of
// as many more rows as it takes for no hidden count to be worked out from what is shown
// (complementary suppression). rows holds, by grouping, every row of the answers that are
// suppressed together (suppressionGroupings), every count set; the rows of every one of them
// are suppressed, consistently with one another.
//
// The sums a client can form, per month and currency, are a tree: the month's total (the
// ungrouped row) is the sum of its cantons, each canton the sum of its sites; by provider or by
// service category the month is the sum of its groups. Seen as flows (the month's total flows
// into its cantons, each canton into its sites, and the sites back out), the figures of a month
// are a circulation, and a client knowing the shown ones can change a hidden count without
// contradicting any total exactly when the hidden count lies on a cycle of hidden cells along
// which every cell passed against its direction (made one smaller) holds at least 2 (every row
// has at least 1 patient). So every hidden count is put on such a cycle: the cheapest one (the
// fewest patients hidden, a shortest path), hiding the shown cells on it. The months' totals
// are never hidden to that end (a total is only hidden when it is small itself). Distinct
// patients are not always additive (a patient seen at two sites counts in both): treating them
// as sums gives the client more equations than it has, which is on the safe side.
//
// Provider rows are not nested in cantons (a provider's encounters are grouped by canton after
// their site, and a provider works at sites of any canton), so they are protected against the
// ungrouped answer only.
func suppressSmallCounts(rows map[string][]TransitionRow, by string, sites []siteCanton) {
	canton := map[string]string{}
	for _, s := range sites {
		canton[s.Code] = s.Canton
	}
	nets := map[string]*network{}
	var keys []string
	for _, g := range suppressionGroupings(by) {
		for i := range rows[g] {
			r := &rows[g][i]
			key := r.Period + "\x00" + r.Currency
			n := nets[key]
			if n == nil {
				n = &network{node: map[string]int{}, nodes: 2}
				nets[key] = n
				keys = append(keys, key)
			}
			switch g {
			case "":
				n.add(r, nodeOutside, nodeTotal, true)
			case ByCanton:
				n.add(r, nodeTotal, n.canton(groupName(r.Group)), false)
			case BySite:
				n.add(r, n.canton(canton[groupName(r.Group)]), nodeOutside, false)
			default:
				n.add(r, nodeTotal, nodeOutside, false)
			}
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		nets[key].suppress()
	}
}

// The nodes of a month's network: outside (where the sites' patients go and the month's come
// from), the month's total, then the cantons.
const (
	nodeOutside = 0
	nodeTotal   = 1
)

// cell is one row of a month as an edge of its network: its count flows from node from to to.
type cell struct {
	row      *TransitionRow
	from, to int
	hidden   bool
	total    bool // the month's total: never hidden as a complement
}

type network struct {
	node  map[string]int
	nodes int
	cells []cell
}

func (n *network) canton(code string) int {
	i, ok := n.node[code]
	if !ok {
		i = n.nodes
		n.node[code] = i
		n.nodes++
	}
	return i
}

func (n *network) add(r *TransitionRow, from, to int, total bool) {
	n.cells = append(n.cells, cell{row: r, from: from, to: to, total: total})
}

func (c *cell) patients() int { return *c.row.Patients }

// suppress hides the small cells, puts each hidden cell on a cycle of hidden cells (see
// suppressSmallCounts) and clears the hidden rows' counts. One pass is enough: hiding more
// cells only adds cycles, so a cell once protected stays protected.
func (n *network) suppress() {
	for i := range n.cells {
		n.cells[i].hidden = n.cells[i].patients() < MinReportedPatients
	}
	for x := range n.cells {
		if !n.cells[x].hidden {
			continue
		}
		c := n.cells[x]
		// Making x one larger: its count flows back from to to from along the path.
		cost, path := n.cheapestPath(x, c.to, c.from)
		if c.patients() >= 2 {
			// Making it one smaller: the other way round.
			if back, p := n.cheapestPath(x, c.from, c.to); back < cost {
				path = p
			}
		}
		for _, e := range path {
			n.cells[e].hidden = true
		}
	}
	for _, c := range n.cells {
		if c.hidden {
			c.row.Patients, c.row.Encounters, c.row.Suppressed = nil, nil, true
		}
	}
}

// cheapestPath returns the cheapest path from node src to dst not using cell skip, as the cells
// on it, with its cost: the patients of the shown cells on it (hidden cells cost nothing). A
// cell is passed along its direction (one larger) or, when it holds at least 2, against it (one
// smaller; a shown cell holds at least MinReportedPatients). A shown month's total is not
// passed. The cost is math.MaxInt with no path. The networks are small (a month's cantons and
// sites), so this is Dijkstra's without a heap.
func (n *network) cheapestPath(skip, src, dst int) (int, []int) {
	dist := make([]int, n.nodes)
	via := make([]int, n.nodes) // the cell reaching the node
	done := make([]bool, n.nodes)
	for i := range dist {
		dist[i], via[i] = math.MaxInt, -1
	}
	dist[src] = 0
	for {
		u := -1
		for v := range dist {
			if !done[v] && dist[v] < math.MaxInt && (u < 0 || dist[v] < dist[u]) {
				u = v
			}
		}
		if u < 0 || u == dst {
			break
		}
		done[u] = true
		for e, c := range n.cells {
			if e == skip || (c.total && !c.hidden) {
				continue
			}
			var v int
			switch {
			case c.from == u:
				v = c.to
			case c.to == u && (!c.hidden || c.patients() >= 2):
				v = c.from
			default:
				continue
			}
			w := 0
			if !c.hidden {
				w = c.patients()
			}
			if !done[v] && dist[u]+w < dist[v] {
				dist[v], via[v] = dist[u]+w, e
			}
		}
	}
	if dist[dst] == math.MaxInt {
		return math.MaxInt, nil
	}
	var path []int
	for v := dst; v != src; {
		e := via[v]
		path = append(path, e)
		if c := n.cells[e]; c.to == v {
			v = c.from
		} else {
			v = c.to
		}
	}
	return dist[dst], path
}
