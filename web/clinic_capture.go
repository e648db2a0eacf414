package web

// clinicCapturePages lists the capture pages (capture, ICD-10 look-up, offline queue).
func (a *app) clinicCapturePages() []page {
	return nil
}
