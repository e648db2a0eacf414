package claims

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
)

// NormalizePatientID is the form of an SFA or IOM case number that is pseudonymised: upper case,
// without any white space, so "sfa 123" and "SFA123" are the same patient.
func NormalizePatientID(id string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToUpper(r)
	}, id)
}

// PatientKey is HMAC-SHA256(key, normalised id) in hex: the only form of a patient id that is
// stored, logged or returned.
func PatientKey(key []byte, patientID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(NormalizePatientID(patientID)))
	return hex.EncodeToString(m.Sum(nil))
}
