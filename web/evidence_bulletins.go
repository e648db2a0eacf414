package web

// bulletinPages lists the pages of monthly bulletins and how each fund keeps up.
func (a *app) bulletinPages() []page {
	return nil
}
