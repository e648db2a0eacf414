package reports

// Enumerations of reports (DESIGN.md section 6), declared once: the API's validator and its
// OpenAPI enums read these.
var (
	// ReportGroupings are the values of the transition report's "by" besides none.
	ReportGroupings = []string{ByCanton, BySite, ByProvider, ByServiceCategory}
)
