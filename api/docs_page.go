package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// The reference page at /docs renders the OpenAPI document on the server: every operation with
// its roles, parameters, body and answers, and every schema with its fields. Nothing is loaded
// from another host and no script runs; its one style sheet is inline, allowed by its hash.

type docOperation struct {
	Method, Path, Summary, ID, Tag string
	Params                         []docParam
	Body                           string   // schema name (or content type) of the request body
	Answers                        []string // "201 Encounter", "422 problem", ...
}

type docParam struct{ Name, In, Type, Description string }

type docSchema struct {
	Name   string
	Fields []docParam
}

type docPage struct {
	Title, Version string
	Tags           []string
	Ops            map[string][]docOperation
	Schemas        []docSchema
}

const docsStyle = `body{font-family:system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem;color:#1b1f24}
code,.path{font-family:ui-monospace,monospace}h2{border-bottom:2px solid #0b5394;padding-bottom:.2rem;margin-top:2rem}
.op{border:1px solid #c9d1d9;border-radius:6px;padding:.5rem .8rem;margin:.6rem 0}.m{display:inline-block;min-width:4.5rem;font-weight:700;color:#0b5394}
table{border-collapse:collapse;width:100%;margin:.3rem 0}th,td{text-align:left;border-bottom:1px solid #e1e4e8;padding:.2rem .4rem;vertical-align:top}
a{color:#0b5394}a:focus{outline:3px solid #ffbf47}.hint{color:#4a5560}nav ul{columns:14rem}`

var docsTemplate = template.Must(template.New("docs").Funcs(template.FuncMap{
	"hasPrefix": strings.HasPrefix,
	"trim":      func(s string) string { return strings.TrimPrefix(s, "#schema-") },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — API reference</title><style>` + docsStyle + `</style></head>
<body><main>
<h1>{{.Title}} <span class="hint">{{.Version}}</span></h1>
<p>Every <code>/v1</code> call needs <code>Authorization: Bearer &lt;token&gt;</code> unless it says "public".
This page is rendered from <a href="/v1/openapi.json">/v1/openapi.json</a>, which is generated from the route table.</p>
<nav aria-label="Groups"><ul>{{range .Tags}}<li><a href="#tag-{{.}}">{{.}}</a></li>{{end}}<li><a href="#schemas">schemas</a></li></ul></nav>
{{range $tag := .Tags}}<section id="tag-{{$tag}}"><h2>{{$tag}}</h2>
{{range index $.Ops $tag}}<div class="op" id="{{.ID}}"><p><span class="m">{{.Method}}</span> <span class="path">{{.Path}}</span></p>
<p>{{.Summary}}</p>
{{if .Params}}<table><thead><tr><th scope="col">parameter</th><th scope="col">in</th><th scope="col">type</th><th scope="col">meaning</th></tr></thead><tbody>
{{range .Params}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{.Type}}</td><td>{{.Description}}</td></tr>{{end}}</tbody></table>{{end}}
{{with .Body}}<p>Body: {{if hasPrefix . "#"}}<a href="{{.}}">{{trim .}}</a>{{else}}{{.}}{{end}}</p>{{end}}
<p>Answers: {{range $i, $a := .Answers}}{{if $i}}, {{end}}{{$a}}{{end}}</p></div>{{end}}
</section>{{end}}
<section id="schemas"><h2>schemas</h2>
{{range .Schemas}}<div class="op" id="schema-{{.Name}}"><p><strong>{{.Name}}</strong></p>
{{if .Fields}}<table><thead><tr><th scope="col">field</th><th scope="col">type</th><th scope="col">meaning</th></tr></thead><tbody>
{{range .Fields}}<tr><td><code>{{.Name}}</code></td><td>{{.Type}}</td><td>{{.Description}}</td></tr>{{end}}</tbody></table>{{end}}</div>{{end}}
</section></main></body></html>`))

// docsCSP allows the page's inline style by its hash, and nothing else.
var docsCSP = func() string {
	sum := sha256.Sum256([]byte(docsStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; frame-ancestors 'none'"
}()

// schemaType describes a schema in a few words: its type, format, enum or the schema it names.
func schemaType(s map[string]any) string {
	if s == nil {
		return ""
	}
	if ref, ok := s["$ref"].(string); ok {
		return strings.TrimPrefix(ref, "#/components/schemas/")
	}
	if all, ok := s["allOf"].([]any); ok && len(all) > 0 {
		if m, ok := all[0].(map[string]any); ok {
			return schemaType(m)
		}
	}
	t := fmt.Sprint(s["type"])
	if t == "<nil>" {
		t = "any"
	}
	if t == "array" {
		if items, ok := s["items"].(map[string]any); ok {
			return "array of " + schemaType(items)
		}
	}
	if f, ok := s["format"].(string); ok {
		t += " (" + f + ")"
	}
	if enum, ok := s["enum"].([]any); ok {
		vals := make([]string, len(enum))
		for i, v := range enum {
			vals[i] = fmt.Sprint(v)
		}
		t += ": " + strings.Join(vals, ", ")
	}
	if nullable, _ := s["nullable"].(bool); nullable {
		t += ", or null"
	}
	return t
}

func firstSchemaRef(content any) string {
	c, ok := content.(map[string]any)
	if !ok {
		return ""
	}
	types := make([]string, 0, len(c))
	for ct := range c {
		types = append(types, ct)
	}
	sort.Strings(types)
	if len(types) == 0 {
		return ""
	}
	ct := types[0] // the first content type, in order, names the schema
	media, _ := c[ct].(map[string]any)
	if sch, ok := media["schema"].(map[string]any); ok {
		if ref, ok := sch["$ref"].(string); ok {
			return "#schema-" + strings.TrimPrefix(ref, "#/components/schemas/")
		}
		return schemaType(sch) + " (" + ct + ")"
	}
	return ct
}

// docPageOf turns the OpenAPI document into what the reference page shows.
func docPageOf(doc map[string]any) docPage {
	info, _ := doc["info"].(map[string]any)
	p := docPage{Title: fmt.Sprint(info["title"]), Version: fmt.Sprint(info["version"]), Ops: map[string][]docOperation{}}
	paths, _ := doc["paths"].(map[string]map[string]any)
	names := make([]string, 0, len(paths))
	for path := range paths {
		names = append(names, path)
	}
	sort.Strings(names)
	for _, path := range names {
		methods := make([]string, 0, len(paths[path]))
		for m := range paths[path] {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		for _, m := range methods {
			op, ok := paths[path][m].(map[string]any)
			if !ok {
				continue
			}
			o := docOperation{Method: strings.ToUpper(m), Path: path, Summary: fmt.Sprint(op["summary"]), ID: fmt.Sprint(op["operationId"])}
			if desc, ok := op["description"].(string); ok && desc != "" {
				o.Summary += " — " + desc
			}
			if tags, ok := op["tags"].([]string); ok && len(tags) > 0 {
				o.Tag = tags[0]
			}
			params, _ := op["parameters"].([]any)
			for _, pa := range params {
				pm, _ := pa.(map[string]any)
				sch, _ := pm["schema"].(map[string]any)
				desc, _ := pm["description"].(string)
				if req, _ := pm["required"].(bool); req {
					desc = strings.TrimSpace("required. " + desc)
				}
				o.Params = append(o.Params, docParam{Name: fmt.Sprint(pm["name"]), In: fmt.Sprint(pm["in"]), Type: schemaType(sch), Description: desc})
			}
			if body, ok := op["requestBody"].(map[string]any); ok {
				o.Body = firstSchemaRef(body["content"])
			}
			if resp, ok := op["responses"].(map[string]any); ok {
				codes := make([]string, 0, len(resp))
				for code := range resp {
					codes = append(codes, code)
				}
				sort.Strings(codes)
				for _, code := range codes {
					a := code
					if r, ok := resp[code].(map[string]any); ok {
						if ref := firstSchemaRef(r["content"]); ref != "" {
							a += " " + strings.TrimPrefix(ref, "#schema-")
						}
					}
					o.Answers = append(o.Answers, a)
				}
			}
			if _, public := op["security"]; public {
				o.Summary += " (public)"
			}
			if _, seen := p.Ops[o.Tag]; !seen {
				p.Tags = append(p.Tags, o.Tag)
			}
			p.Ops[o.Tag] = append(p.Ops[o.Tag], o)
		}
	}
	sort.Strings(p.Tags)
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	snames := make([]string, 0, len(schemas))
	for n := range schemas {
		snames = append(snames, n)
	}
	sort.Strings(snames)
	for _, n := range snames {
		sch, _ := schemas[n].(map[string]any)
		s := docSchema{Name: n}
		props, _ := sch["properties"].(map[string]any)
		fields := make([]string, 0, len(props))
		for f := range props {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			fs, _ := props[f].(map[string]any)
			desc, _ := fs["description"].(string)
			s.Fields = append(s.Fields, docParam{Name: f, Type: schemaType(fs), Description: desc})
		}
		p.Schemas = append(p.Schemas, s)
	}
	return p
}

// docs answers the API reference page, rendered from the OpenAPI document.
func (s *Server) docs(c *fiber.Ctx) error {
	var buf bytes.Buffer
	if err := docsTemplate.Execute(&buf, docPageOf(s.openAPIDocument())); err != nil {
		return fmt.Errorf("render /docs: %w", err)
	}
	c.Set("Content-Security-Policy", docsCSP)
	c.Type("html", "utf-8")
	return c.Send(buf.Bytes())
}
