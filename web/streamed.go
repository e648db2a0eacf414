package web

import "fmt"

// StreamedRoutes lists the pages that read their body as a stream (page.Upload), as
// "METHOD /path", for the server to give them the long body read timeout of the API's streamed
// routes (api.Config.StreamedPaths; cmd/trcledger composes the two).
func StreamedRoutes() []string {
	var out []string
	for _, p := range (&app{}).pages() {
		if p.Upload {
			out = append(out, fmt.Sprintf("%s %s", p.Method, p.Path))
		}
	}
	return out
}
