package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/ledger"
)

func ledgerAccounts(j *ledger.Journal) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		checkQuery(&f, "prefix", c.Query("prefix"))
		if err := f.Err(); err != nil {
			return err
		}
		items, err := j.Accounts(c.UserContext(), query(c, "prefix"))
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}

func ledgerBalance(j *ledger.Journal) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		account := query(c, "account")
		checkQuery(&f, "account", account)
		if account == "" {
			f.Add("account", "is required, e.g. payable:IOM:DZ-BIHAC")
		}
		var asOf *trcledger.Date
		if v := query(c, "as_of"); v != "" {
			asOf = dateField(&f, "as_of", &v, false)
		}
		if err := f.Err(); err != nil {
			return err
		}
		items, err := j.Balance(c.UserContext(), account, asOf)
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}

func ledgerTransactions(j *ledger.Journal) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		filter := ledger.TransactionFilter{Cursor: query(c, "cursor"), Reference: query(c, "reference"), Account: query(c, "account")}
		for _, name := range []string{"cursor", "reference", "account"} {
			checkQuery(&f, name, c.Query(name))
		}
		filter.Limit = limitParam(c, &f, 1000)
		if err := f.Err(); err != nil {
			return err
		}
		items, next, err := j.Transactions(c.UserContext(), filter)
		if err != nil {
			return err
		}
		out := list[ledger.Transaction]{Items: items}
		if next != "" {
			out.NextCursor = &next
		}
		return c.JSON(out)
	}
}

func ledgerVerify(j *ledger.Journal) fiber.Handler {
	return func(c *fiber.Ctx) error {
		res, err := j.Verify(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(res)
	}
}
