package web

// appealPages lists the pages of appeals (clinic appeals a decided line, the payer's reviewer
// decides) and of shares re-routed to a fallback payer.
func (a *app) appealPages() []page {
	return nil
}
