package api

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// pathMethods is one path pattern of the route table with the methods it takes.
type pathMethods struct {
	segments []string // ":id" for a parameter
	methods  []string
}

// routeMethods collects the methods of each path of the route table, in the order of the table.
func routeMethods(routes []route) []*pathMethods {
	var out []*pathMethods
	byPath := map[string]*pathMethods{}
	for _, r := range routes {
		p := byPath[r.Path]
		if p == nil {
			p = &pathMethods{segments: strings.Split(strings.Trim(r.Path, "/"), "/")}
			byPath[r.Path] = p
			out = append(out, p)
		}
		if !slices.Contains(p.methods, r.Method) {
			p.methods = append(p.methods, r.Method)
		}
	}
	return out
}

// match reports whether the request path's segments fit p, literal segments compared as
// Fiber compares them (case-insensitively).
func (p *pathMethods) match(segs []string) bool {
	if len(segs) != len(p.segments) {
		return false
	}
	for i, s := range p.segments {
		if strings.HasPrefix(s, ":") {
			if segs[i] == "" {
				return false
			}
		} else if !strings.EqualFold(s, segs[i]) {
			return false
		}
	}
	return true
}

// moreSpecific reports whether p names a path more exactly than q: at the first segment where
// they differ, p's is literal and q's a parameter (/v1/encounters/batch over /v1/encounters/:id).
func (p *pathMethods) moreSpecific(q *pathMethods) bool {
	for i := range p.segments {
		lp, lq := !strings.HasPrefix(p.segments[i], ":"), !strings.HasPrefix(q.segments[i], ":")
		if lp != lq {
			return lp
		}
	}
	return false
}

// methodNotAllowed answers 405 with an Allow header when the request's path is one of the
// route table's but its method is not. The most specific path decides, so that GET
// /v1/encounters/batch is refused rather than read as the encounter "batch".
func methodNotAllowed(routes []route) fiber.Handler {
	paths := routeMethods(routes)
	return func(c *fiber.Ctx) error {
		segs := strings.Split(strings.Trim(c.Path(), "/"), "/")
		var best *pathMethods
		for _, p := range paths {
			if p.match(segs) && (best == nil || p.moreSpecific(best)) {
				best = p
			}
		}
		if best == nil || slices.Contains(best.methods, c.Method()) {
			return c.Next()
		}
		allow := strings.Join(best.methods, ", ")
		c.Set(fiber.HeaderAllow, allow)
		return fiber.NewError(fiber.StatusMethodNotAllowed, c.Method()+" is not allowed here; this path takes "+allow)
	}
}
