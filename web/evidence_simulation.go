package web

// simulationPages lists the pages of what-if cost-share schedules and parity with insured citizens.
func (a *app) simulationPages() []page {
	return nil
}
