package web

// correctionPages lists the pages of corrections over time (DESIGN.md section 12): repricing a
// contract's encounters after a retroactive tariff or rule, and closing and reopening months.
func (a *app) correctionPages() []page {
	return nil
}
