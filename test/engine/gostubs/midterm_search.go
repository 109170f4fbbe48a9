// Build overlay (build-dagger.sh): an extra file in github.com/vito/midterm v0.2.4.
// Dagger v0.21.8 wants an unreleased midterm commit (not served by the Go module proxy reachable on
// our CI machines) that adds scrollback search to the CLI's interactive log viewer. v0.2.4 is that
// commit's parent minus search, so we add a search API that finds nothing. Our own code.
package midterm

type SearchMatch struct{ Row, Col, End int }

func (vt *Terminal) Search(query string) int                 { return 0 }
func (vt *Terminal) SearchClear()                            {}
func (vt *Terminal) SearchSetCurrent(idx int) (row, col int) { return -1, -1 }
func (vt *Terminal) SearchMatchCount() int                   { return 0 }
func (vt *Terminal) SearchMatchRows() []int                  { return nil }

// SearchMatches is a field upstream; as a range-over-func method `range vt.SearchMatches` still works.
func (vt *Terminal) SearchMatches(yield func(int, SearchMatch) bool) {}
