package web

// importJobPages lists the pages of imports as jobs: a large CSV's progress and its rejected rows.
func (a *app) importJobPages() []page {
	return nil
}
