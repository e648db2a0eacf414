package web

// PageRoute is a page's method, path and roles, for the access matrix test.
type PageRoute struct {
	Method, Path string
	Roles        []string
}

// PageRoutes lists every page of the web application.
func PageRoutes() []PageRoute {
	var out []PageRoute
	for _, p := range (&app{}).pages() {
		out = append(out, PageRoute{Method: p.Method, Path: p.Path, Roles: p.Roles})
	}
	return out
}
