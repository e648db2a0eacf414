package web

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger/claims/statements"
)

// queueShows are the work queue's views: statements to review (submitted or under review),
// reviewed ones (reviewed, partially paid, paid), or all of them but drafts and cancelled ones,
// which are not (or no longer) addressed to the payer.
var queueShows = map[string][]string{
	"open": {statements.StatusSubmitted, statements.StatusUnderReview},
	"done": {statements.StatusReviewed, statements.StatusPartiallyPaid, statements.StatusPaid},
	"all": {statements.StatusSubmitted, statements.StatusUnderReview, statements.StatusReviewed,
		statements.StatusPartiallyPaid, statements.StatusPaid},
}

type queueRow struct {
	*statements.Statement
	ProviderName string
	Percent      int
}

type queueView struct {
	Show, Period string
	Shows        []string
	Rows         []queueRow
	Next, First  string
}

// reviewQueue is the reviewer's work queue: the statements addressed to their payer (the
// service sees to that), a page at a time, with each one's progress.
func (a *app) reviewQueue(c *fiber.Ctx) error {
	v := queueView{Show: c.Query("show", "open"), Period: c.Query("period"), Shows: []string{"open", "done", "all"}}
	statuses, ok := queueShows[v.Show]
	if !ok {
		v.Show, statuses = "open", queueShows["open"]
	}
	errs := map[string]string{}
	if v.Period != "" && !validPeriod(v.Period) {
		errs["period"] = tr(c).T("review.problem.period")
		v.Period = ""
	}
	page, next, err := a.cfg.Statements.FindStatementQueue(c.UserContext(), statements.QueueFilter{
		Statuses: statuses, Period: v.Period, Cursor: c.Query("cursor"),
	})
	if err != nil {
		fe, ferr := reviewFieldErrors(c, err, "")
		if ferr != nil {
			return ferr
		}
		for k, m := range fe {
			errs[k] = m
		}
		page, next, err = a.cfg.Statements.FindStatementQueue(c.UserContext(), statements.QueueFilter{Statuses: statuses, Period: v.Period})
		if err != nil {
			return err
		}
	}
	names, err := a.reviewNames(c)
	if err != nil {
		return err
	}
	for _, st := range page {
		v.Rows = append(v.Rows, queueRow{Statement: st, ProviderName: nameOr(names.Providers, st.ProviderCode), Percent: percent(st.DecidedCount, st.LineCount)})
	}
	q := url.Values{"show": {v.Show}}
	if v.Period != "" {
		q.Set("period", v.Period)
	}
	if next != "" {
		nq := url.Values{"show": q["show"], "period": q["period"], "cursor": {next}}
		v.Next = "/review?" + nq.Encode()
	}
	if c.Query("cursor") != "" {
		v.First = "/review?" + q.Encode()
	}
	return a.renderView(c, "review/queue", view{Title: "review.queue.title", Data: v, Errors: errs})
}

// validPeriod reports whether p is a month YYYY-MM.
func validPeriod(p string) bool {
	if len(p) != 7 || p[4] != '-' {
		return false
	}
	for i, r := range p {
		if i != 4 && (r < '0' || r > '9') {
			return false
		}
	}
	return p[5:] >= "01" && p[5:] <= "12"
}

// percent is part of whole in whole percent, rounded down (100 only when all is done).
func percent(part, whole int) int {
	if whole <= 0 {
		return 0
	}
	return part * 100 / whole
}
