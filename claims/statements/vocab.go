package statements

// Enumerations of statements (DESIGN.md section 5), declared once: the API's validator, its
// OpenAPI enums and a test against the SQL CHECKs read these (with ReasonCodes in
// statement_flow.go).
var (
	// StatementStatuses are the states of a statement, in the order of the state machine.
	StatementStatuses = []string{StatusDraft, StatusSubmitted, StatusUnderReview, StatusReviewed, StatusPartiallyPaid, StatusPaid, StatusCancelled}
	// Decisions a reviewer takes on a statement line.
	Decisions = []string{"approve", "reject", "adjust"}
	// LineFlags are what the submit checks mark a statement line with for the reviewer.
	// over_cap: the payer's share went beyond a budget ceiling in mode warn (docs/caps.md).
	// above_parity: the unit price is above the statement payer's own reference tariff for
	// insured citizens on the service date (docs/simulations-and-parity.md).
	LineFlags = []string{"duplicate", "missing_referral", "quantity_limit", "late", "high_value", "rerouted", "over_cap", "above_parity"}
)
