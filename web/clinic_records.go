package web

// clinicRecordPages lists the clinic's records: encounters, void and correct, CSV upload,
// statements and decisions.
func (a *app) clinicRecordPages() []page {
	return nil
}
