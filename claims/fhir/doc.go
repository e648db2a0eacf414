// Package fhir maps claims statements to HL7 FHIR R4 resources (docs/fhir.md): a Claim per
// encounter on a statement, the provider and payer as Organization, a pseudonymous Patient
// (identifier = patient_key, nothing else), a Coverage; after review a ClaimResponse and an
// ExplanationOfBenefit per claim; a PaymentReconciliation per payment.
//
// The resources are plain Go structs that carry only the elements this package fills in.
// Exporter reads statements through claims/statements (so the caller's scope, the diagnoses
// rule and the audit of statement reads are those of the statements service) and reference
// data through contracts; it writes nothing.
//
// Errors are trcledger.Error codes: ENOTFOUND for a statement that is unknown or outside the
// caller's scope, EINVALID for a bad period; anything else is a database or write failure.
package fhir
