package claims

// Enumerations of encounters, statements and reports (DESIGN.md sections 2, 5 and 6), declared
// once: the API's validator, its OpenAPI enums and a test against the SQL CHECKs read these.
var (
	// EncounterStatuses are the states of an encounter.
	EncounterStatuses = []string{"posted", "voided"}
	// StatementStatuses are the states of a statement, in the order of the state machine.
	StatementStatuses = []string{StatusDraft, StatusSubmitted, StatusUnderReview, StatusReviewed, StatusPartiallyPaid, StatusPaid, StatusCancelled}
	// Decisions a reviewer takes on a statement line.
	Decisions = []string{"approve", "reject", "adjust"}
	// LineFlags are what the submit checks mark a statement line with for the reviewer.
	LineFlags = []string{"duplicate", "missing_referral", "quantity_limit", "late", "high_value"}
	// ReportGroupings are the values of the transition report's "by" besides none.
	ReportGroupings = []string{ByCanton, BySite, ByProvider, ByServiceCategory}
)
