package encounters

// Enumerations of encounters (DESIGN.md section 2), declared once: the API's validator, its
// OpenAPI enums and a test against the SQL CHECKs read these (with EncounterKinds, ReferralLevels
// and Sexes in encounter.go).
var (
	// EncounterStatuses are the states of an encounter.
	EncounterStatuses = []string{"posted", "voided"}
)
