package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/fhir"
	"github.com/trcledger/trcledger/claims/imports"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/ledger"
)

// route is one endpoint: how it is called, who may call it, and what it takes and returns
// (for the OpenAPI document, which is generated from this list).
type route struct {
	Method  string
	Path    string
	Roles   []string // nil: public, no token
	Summary string
	Scope   string // how the object is scoped beyond the role
	Query   []param
	Body    any // request body type, or nil
	Status  int // success status
	Result  any // response body type, or nil
	Handler fiber.Handler
	Stream  bool // the handler reads the body as a stream (no body limit)

	// Idempotency says whether the route takes an Idempotency-Key header.
	Idempotency idem
	// Consumes lists the content types of a body that is not JSON (the CSV import).
	Consumes []string
	// Produces is the content type of an answer that is not JSON (the exports).
	Produces string
	// ETag marks reference data answered with an ETag (304 for a current If-None-Match).
	ETag bool
}

// idem is whether a route takes the Idempotency-Key header.
type idem int

const (
	idemNone idem = iota
	idemOptional
	idemRequired
)

// param is a query parameter.
type param struct {
	Name, Description string
	Required          bool
	Format            string // "" (text), fmtDate, fmtMonth, fmtDecimal, fmtTime or fmtInteger
	Vocab             string // the vocabulary of its values (vocab.go)
	Max               int    // the largest integer
}

// Formats of query parameters.
const (
	fmtDate    = "date"
	fmtMonth   = "month"
	fmtDecimal = "decimal"
	fmtTime    = "date-time-or-date"
	fmtInteger = "integer"
)

var (
	allRoles     = []string{access.RoleAdmin, access.RoleClinic, access.RoleReviewer, access.RoleFinance}
	adminOnly    = []string{access.RoleAdmin}
	contractRead = []string{access.RoleAdmin, access.RoleFinance, access.RoleClinic}
	clinicOnly   = []string{access.RoleClinic}
	ledgerRead   = []string{access.RoleAdmin, access.RoleFinance}
	financeOnly  = []string{access.RoleFinance}
)

// list is the shape of every list response.
type list[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// batchResponse is the answer to a batch post.
type batchResponse struct {
	Encounters []encounters.Encounter `json:"encounters"`
}

func listOf[T any](items []T) list[T] { return list[T]{Items: items} }

// RouteAccess says who may call a route and how its objects are scoped: the access matrix.
type RouteAccess struct {
	Method, Path string
	Roles        []string // nil: public
	Scope        string
}

// Access lists every route with its roles and scope, as the route table defines them.
func (s *Server) Access() []RouteAccess {
	var out []RouteAccess
	for _, r := range s.routes() {
		out = append(out, RouteAccess{Method: r.Method, Path: r.Path, Roles: r.Roles, Scope: r.Scope})
	}
	return out
}

// routes lists every endpoint of the API.
func (s *Server) routes() []route {
	st, en, sm, rp, jr := s.cfg.Contracts, s.cfg.Encounters, s.cfg.Statements, s.cfg.Reports, s.cfg.Journal
	fx := fhir.NewExporter(sm, st, time.Now)
	bl := reports.NewBulletins(rp, jr, time.Now)
	return []route{
		{Method: "GET", Path: "/healthz", Summary: "Liveness", Status: 200, Result: health{}, Handler: healthz},
		{Method: "GET", Path: "/readyz", Summary: "Readiness: the database answers", Status: 200, Result: health{}, Handler: s.readyz},
		{Method: "GET", Path: "/docs", Summary: "This API's reference page (HTML), rendered from the OpenAPI document", Status: 200, Produces: "text/html", Handler: s.docs},
		{Method: "GET", Path: "/v1/openapi.json", Summary: "This API as an OpenAPI 3 document", ETag: true, Status: 200, Handler: s.openapi},

		{Method: "GET", Path: "/v1/jurisdictions", Roles: allRoles, Summary: "The jurisdiction tree, parents first", ETag: true, Status: 200, Result: list[contracts.Jurisdiction]{}, Handler: listJurisdictions(st)},
		{Method: "POST", Path: "/v1/jurisdictions", Roles: adminOnly, Summary: "Add a jurisdiction", Body: jurisdictionRequest{}, Status: 201, Result: contracts.Jurisdiction{}, Handler: createJurisdiction(st)},
		{Method: "GET", Path: "/v1/organizations", Roles: allRoles, Summary: "Providers and payers", ETag: true, Query: []param{{Name: "kind", Vocab: "organization_kind"}}, Status: 200, Result: list[contracts.Organization]{}, Handler: listOrganizations(st)},
		{Method: "POST", Path: "/v1/organizations", Roles: adminOnly, Summary: "Add a provider or payer", Body: organizationRequest{}, Status: 201, Result: contracts.Organization{}, Handler: createOrganization(st)},
		{Method: "GET", Path: "/v1/organizations/:code", Roles: allRoles, Summary: "One organization", ETag: true, Status: 200, Result: contracts.Organization{}, Handler: getOrganization(st)},
		{Method: "GET", Path: "/v1/organizations/:code/reference-tariffs", Roles: allRoles, Summary: "A state fund's tariff versions for insured citizens", Status: 200, Result: list[contracts.ReferenceTariff]{}, Handler: listReferenceTariffs(st)},
		{Method: "POST", Path: "/v1/organizations/:code/reference-tariffs", Roles: adminOnly, Summary: "Add a version of a state fund's tariff for insured citizens (closes the open one)", Body: referenceTariffRequest{}, Status: 201, Result: contracts.ReferenceTariff{}, Handler: addReferenceTariff(st)},
		{Method: "GET", Path: "/v1/sites", Roles: allRoles, Summary: "Sites of care", ETag: true, Status: 200, Result: list[contracts.Site]{}, Handler: listSites(st)},
		{Method: "POST", Path: "/v1/sites", Roles: adminOnly, Summary: "Add a site", Body: siteRequest{}, Status: 201, Result: contracts.Site{}, Handler: createSite(st)},
		{Method: "GET", Path: "/v1/services", Roles: allRoles, Summary: "The service catalogue", ETag: true, Status: 200, Result: list[contracts.Service]{}, Handler: listServices(st)},
		{Method: "POST", Path: "/v1/services", Roles: adminOnly, Summary: "Add a service", Body: serviceRequest{}, Status: 201, Result: contracts.Service{}, Handler: createService(st)},

		{Method: "GET", Path: "/v1/contracts", Roles: contractRead, Scope: "clinic: own provider", Summary: "Contracts", Query: []param{{Name: "provider_code"}, {Name: "status", Vocab: "contract_status"}}, Status: 200, Result: list[contracts.Contract]{}, Handler: listContracts(st)},
		{Method: "POST", Path: "/v1/contracts", Roles: adminOnly, Summary: "Add a contract", Body: contractRequest{}, Status: 201, Result: contracts.Contract{}, Handler: createContract(st)},
		{Method: "GET", Path: "/v1/contracts/:code", Roles: contractRead, Scope: "clinic: own provider", Summary: "One contract", Status: 200, Result: contracts.Contract{}, Handler: getContract(st)},
		{Method: "PATCH", Path: "/v1/contracts/:code", Roles: adminOnly, Summary: "Activate or terminate a contract, or set its end date", Body: contractPatchRequest{}, Status: 200, Result: contracts.Contract{}, Handler: updateContract(st)},
		{Method: "GET", Path: "/v1/contracts/:code/tariffs", Roles: contractRead, Scope: "clinic: own provider", Summary: "The contract's tariff versions", ETag: true, Status: 200, Result: list[contracts.TariffVersion]{}, Handler: listTariffs(st)},
		{Method: "POST", Path: "/v1/contracts/:code/tariffs", Roles: adminOnly, Summary: "Add a tariff version (closes the open one)", Body: tariffRequest{}, Status: 201, Result: contracts.TariffVersion{}, Handler: addTariff(st)},
		{Method: "POST", Path: "/v1/contracts/:code/repricings", Roles: adminOnly, Summary: "Price and split again the contract's posted encounters of [from, to] with the tariffs and rules in force now (dry_run: only say what would change)", Body: repricingRequest{}, Idempotency: idemOptional, Status: 200, Result: encounters.RepricingResult{}, Handler: repriceContract(en)},
		{Method: "GET", Path: "/v1/periods", Roles: ledgerRead, Summary: "Months that were closed, with their state, who changed it and when (a month not listed is open)", Status: 200, Result: list[reports.Period]{}, Handler: listPeriods(rp)},
		{Method: "POST", Path: "/v1/periods/:period/close", Roles: financeOnly, Summary: "Close a month: nothing dated in it is posted, voided or repriced, and its report is kept as it is", Status: 200, Result: reports.Period{}, Handler: closePeriod(rp)},
		{Method: "POST", Path: "/v1/periods/:period/reopen", Roles: financeOnly, Summary: "Reopen a closed month, with a reason", Body: reopenRequest{}, Status: 200, Result: reports.Period{}, Handler: reopenPeriod(rp)},
		{Method: "GET", Path: "/v1/contracts/:code/cost-shares", Roles: contractRead, Scope: "clinic: own provider", Summary: "The contract's cost-share rules", ETag: true, Status: 200, Result: list[contracts.CostShareRule]{}, Handler: listCostShares(st)},
		{Method: "POST", Path: "/v1/contracts/:code/cost-shares", Roles: adminOnly, Summary: "Add a cost-share rule", Body: costShareRequest{}, Status: 201, Result: contracts.CostShareRule{}, Handler: addCostShare(st)},
		{Method: "GET", Path: "/v1/contracts/:code/caps", Roles: contractRead, Scope: "clinic: own provider", Summary: "The contract's budget ceilings, with what each period has used and has left", Status: 200, Result: list[encounters.Cap]{}, Handler: listCaps(en)},
		{Method: "POST", Path: "/v1/contracts/:code/caps", Roles: adminOnly, Summary: "Add a budget ceiling of a payer (route: beyond it the share goes to the overflow payer; warn: the line is flagged over_cap)", Body: capRequest{}, Status: 201, Result: encounters.Cap{}, Handler: addCap(en)},
		{Method: "GET", Path: "/v1/contracts/:code/quote", Roles: contractRead, Scope: "clinic: own provider", Summary: "Price and split one line; writes nothing",
			Query: []param{{Name: "service_code", Required: true}, {Name: "quantity", Description: "default 1", Format: fmtDecimal}, {Name: "on", Description: "the service date, default today", Format: fmtDate},
				{Name: "beneficiary_category", Description: "default unknown", Vocab: "beneficiary_category"}, {Name: "site_code"}},
			Status: 200, Result: contracts.PricedLine{}, Handler: quote(st)},

		{Method: "POST", Path: "/v1/encounters", Roles: clinicOnly, Scope: "contract of the clinic's provider", Summary: "Post an encounter (header Idempotency-Key)", Body: encounterRequest{}, Idempotency: idemRequired, Status: 201, Result: encounters.Encounter{}, Handler: postEncounter(en)},
		{Method: "POST", Path: "/v1/encounters/batch", Roles: clinicOnly, Scope: "contracts of the clinic's provider", Summary: "Post up to 1000 encounters, all or nothing (header Idempotency-Key)", Body: batchRequest{}, Idempotency: idemRequired, Status: 201, Result: batchResponse{}, Handler: postBatch(en)},
		{Method: "POST", Path: "/v1/encounters/import", Roles: clinicOnly, Scope: "contracts of the clinic's provider", Summary: "Import a CSV file (text/csv, or one file part of multipart/form-data), streamed; rows already imported are skipped", Consumes: []string{"text/csv", "multipart/form-data"}, Status: 200, Result: encounters.ImportResult{}, Handler: importEncounters(en, s.cfg.ImportLimit, s.cfg.Metrics), Stream: true},
		{Method: "POST", Path: "/v1/imports", Roles: clinicOnly, Scope: "contracts of the clinic's provider", Summary: "Start an import job: the CSV file (as POST /v1/encounters/import) is stored whole, then imported in the background; 202 with the job (docs/import-jobs.md)", Consumes: []string{"text/csv", "multipart/form-data"}, Status: 202, Result: imports.Job{}, Handler: createImportJob(s.cfg.Imports, s.cfg.ImportLimit), Stream: true},
		{Method: "GET", Path: "/v1/imports", Roles: clinicOnly, Scope: "own provider", Summary: "The clinic's import jobs, newest first", Query: []param{{Name: "limit", Format: fmtInteger, Max: 200}}, Status: 200, Result: list[imports.Job]{}, Handler: listImportJobs(s.cfg.Imports)},
		{Method: "GET", Path: "/v1/imports/:id", Roles: clinicOnly, Scope: "own provider", Summary: "An import job: its state (queued, running, succeeded, failed), rows read, accepted, skipped, rejected, rows per second", Status: 200, Result: imports.Job{}, Handler: getImportJob(s.cfg.Imports)},
		{Method: "GET", Path: "/v1/imports/:id/errors.csv", Roles: clinicOnly, Scope: "own provider", Summary: "The job's rejected rows: row, code, reason, then the file's own columns (patient_id empty), to fix and upload again", Produces: "text/csv", Status: 200, Handler: importJobErrors(s.cfg.Imports)},
		{Method: "GET", Path: "/v1/encounters", Roles: []string{access.RoleClinic, access.RoleAdmin}, Scope: "clinic: own provider", Summary: "Encounters, in posting order",
			Query:  []param{{Name: "contract_code"}, {Name: "site_code"}, {Name: "from", Format: fmtDate}, {Name: "to", Format: fmtDate}, {Name: "status", Vocab: "encounter_status"}, {Name: "limit", Format: fmtInteger, Max: 500}, {Name: "cursor"}},
			Status: 200, Result: list[encounters.Encounter]{}, Handler: listEncounters(en)},
		{Method: "GET", Path: "/v1/encounters/:id", Roles: []string{access.RoleClinic, access.RoleReviewer, access.RoleAdmin}, Scope: "clinic: own provider; reviewer: a payer with a share; diagnoses only to those two", Summary: "One encounter", Status: 200, Result: encounters.Encounter{}, Handler: getEncounter(en)},
		{Method: "POST", Path: "/v1/encounters/:id/void", Roles: clinicOnly, Scope: "own provider", Summary: "Void an encounter; appends the reversing ledger transaction", Body: voidRequest{}, Idempotency: idemOptional, Status: 200, Result: encounters.Encounter{}, Handler: voidEncounter(en)},

		{Method: "GET", Path: "/v1/ledger/accounts", Roles: ledgerRead, Summary: "Every account with its totals", Query: []param{{Name: "prefix", Description: "e.g. payable:IOM:"}}, Status: 200, Result: list[ledger.AccountBalance]{}, Handler: ledgerAccounts(jr)},
		{Method: "GET", Path: "/v1/ledger/balances", Roles: ledgerRead, Summary: "Balance of one account, per currency, as of a date", Query: []param{{Name: "account", Required: true}, {Name: "as_of", Format: fmtDate}}, Status: 200, Result: list[ledger.AccountBalance]{}, Handler: ledgerBalance(jr)},
		{Method: "GET", Path: "/v1/ledger/transactions", Roles: ledgerRead, Summary: "Journal transactions with postings and chain hash", Query: []param{{Name: "cursor"}, {Name: "limit", Format: fmtInteger, Max: 1000}, {Name: "reference"}, {Name: "account"}}, Status: 200, Result: list[ledger.Transaction]{}, Handler: ledgerTransactions(jr)},
		{Method: "GET", Path: "/v1/ledger/verify", Roles: ledgerRead, Summary: "Recompute the hash chain and the balance of every transaction", Status: 200, Result: ledger.VerifyResult{}, Handler: ledgerVerify(jr)},

		{Method: "POST", Path: "/v1/statements", Roles: []string{access.RoleFinance, access.RoleAdmin}, Summary: "Build (or, while draft, refresh) the statement of a provider on a payer for a month", Body: statementRequest{}, Idempotency: idemOptional, Status: 201, Result: statements.Statement{}, Handler: createStatement(sm)},
		{Method: "GET", Path: "/v1/statements", Roles: allRoles, Scope: "clinic: own provider; reviewer: own payer", Summary: "Statements, without their lines", Query: []param{{Name: "provider_code"}, {Name: "payer_code"}, {Name: "period", Format: fmtMonth}, {Name: "status", Vocab: "statement_status"}}, Status: 200, Result: list[statements.Statement]{}, Handler: listStatements(sm)},
		{Method: "GET", Path: "/v1/statements/:id", Roles: allRoles, Scope: "clinic: own provider; reviewer: own payer; diagnoses only to those two", Summary: "One statement with a page of its lines, and its payments",
			Query:  []param{{Name: "lines_limit", Description: "lines per page, default 1000", Format: fmtInteger, Max: 1000}, {Name: "lines_cursor", Description: "lines_next_cursor of the previous page"}},
			Status: 200, Result: statements.Statement{}, Handler: getStatement(sm)},
		{Method: "POST", Path: "/v1/statements/:id/submit", Roles: []string{access.RoleClinic, access.RoleFinance}, Scope: "clinic: own provider", Summary: "Submit a draft: freeze it, flag lines, record the content hash", Idempotency: idemOptional, Status: 200, Result: statements.Statement{}, Handler: statementAction(sm, (*statements.Service).SubmitStatement, (*statements.Service).SubmitStatementKeyed)},
		{Method: "POST", Path: "/v1/statements/:id/cancel", Roles: []string{access.RoleClinic, access.RoleFinance}, Scope: "clinic: own provider", Summary: "Cancel a draft and release its lines", Idempotency: idemOptional, Status: 200, Result: statements.Statement{}, Handler: statementAction(sm, (*statements.Service).CancelStatement, (*statements.Service).CancelStatementKeyed)},
		{Method: "POST", Path: "/v1/statements/:id/decisions", Roles: []string{access.RoleReviewer}, Scope: "own payer", Summary: "Approve, reject or adjust lines; or, with bulk (instead of decisions), approve every undecided line without a flag, or apply a reviewed sample's rejected share to them (extrapolate)", Body: decisionsRequest{}, Idempotency: idemOptional, Status: 200, Result: statements.Decided{}, Handler: decideLines(sm)},
		{Method: "GET", Path: "/v1/statements/:id/sample", Roles: allRoles, Scope: "as reading the statement", Summary: "The seeded random sample of a statement's unflagged lines (the same lines for the same seed and percent), its review so far and the rate extrapolate would apply",
			Query: []param{{Name: "percent", Required: true, Description: "1 to 100", Format: fmtInteger, Max: 100}, {Name: "seed", Required: true, Description: "1 to 2^53-1", Format: fmtInteger}}, Status: 200, Result: statements.Sample{}, Handler: getSample(sm)},
		{Method: "GET", Path: "/v1/statements/:id/extrapolations", Roles: allRoles, Scope: "as reading the statement", Summary: "Every application of a sample's rate to the statement's other unflagged lines, oldest first", Status: 200, Result: list[statements.Extrapolation]{}, Handler: listExtrapolations(sm)},
		{Method: "POST", Path: "/v1/statements/:id/complete-review", Roles: []string{access.RoleReviewer}, Scope: "own payer", Summary: "Fix the totals once every line is decided", Idempotency: idemOptional, Status: 200, Result: statements.Statement{}, Handler: statementAction(sm, (*statements.Service).CompleteReview, (*statements.Service).CompleteReviewKeyed)},
		{Method: "POST", Path: "/v1/statements/:id/payments", Roles: []string{access.RoleFinance}, Summary: "Record a (partial) payment (header Idempotency-Key)", Body: paymentRequest{}, Idempotency: idemRequired, Status: 201, Result: statements.PaymentResult{}, Handler: recordPayment(sm)},
		{Method: "POST", Path: "/v1/statements/:id/appeals", Roles: clinicOnly, Scope: "own provider", Summary: "Appeal a rejected or adjusted line within the contract's appeal window", Body: appealRequest{}, Idempotency: idemOptional, Status: 201, Result: statements.Appeal{}, Handler: fileAppeal(sm)},
		{Method: "GET", Path: "/v1/appeals", Roles: allRoles, Scope: "clinic: own provider; reviewer: own payer", Summary: "Appeals, newest first",
			Query: []param{{Name: "status", Vocab: "appeal_status"}, {Name: "statement_id"}, {Name: "provider_code"}, {Name: "payer_code"}}, Status: 200, Result: list[statements.Appeal]{}, Handler: listAppeals(sm)},
		{Method: "GET", Path: "/v1/appeals/:id", Roles: allRoles, Scope: "clinic: own provider; reviewer: own payer", Summary: "One appeal", Status: 200, Result: statements.Appeal{}, Handler: getAppeal(sm)},
		{Method: "POST", Path: "/v1/appeals/:id/decision", Roles: []string{access.RoleReviewer}, Scope: "own payer", Summary: "Decide an appeal: upheld, overturned or partial; appends the ledger difference", Body: appealDecisionRequest{}, Idempotency: idemOptional, Status: 200, Result: statements.Appeal{}, Handler: decideAppeal(sm)},
		{Method: "GET", Path: "/v1/statements/:id/export.csv", Roles: allRoles, Scope: "as reading the statement", Summary: "The statement as CSV, one row a line", Produces: "text/csv", Status: 200, Handler: exportCSV(sm)},
		{Method: "GET", Path: "/v1/statements/:id/export.pdf", Roles: allRoles, Scope: "as reading the statement", Summary: "The statement as a printable PDF, in the reader's language",
			Query:    []param{{Name: "lang", Description: "the language to print in; without it the best of Accept-Language, else bs", Vocab: "locale"}},
			Produces: "application/pdf", Status: 200, Handler: exportPDF(sm)},
		{Method: "GET", Path: "/v1/statements/:id/fhir", Roles: allRoles, Scope: "as reading the statement; diagnoses only to the provider's clinic and the payer's reviewers",
			Summary:  "The statement as a FHIR R4 Bundle (collection): a Claim per encounter, after review a ClaimResponse and ExplanationOfBenefit each, a PaymentReconciliation per payment (docs/fhir.md)",
			Produces: mimeFHIRJSON, Status: 200, Handler: statementFHIR(fx)},
		{Method: "GET", Path: "/v1/fhir/export", Roles: allRoles, Scope: "clinic: own provider; reviewer: own payer; diagnoses only to those two",
			Summary:  "A month's statements (cancelled ones left out) as FHIR R4 NDJSON, one resource a line, streamed (docs/fhir.md)",
			Query:    []param{{Name: "period", Required: true, Format: fmtMonth}, {Name: "payer_code"}, {Name: "provider_code"}},
			Produces: mimeFHIRNDJSON, Status: 200, Handler: exportFHIR(fx, s.log)},

		{Method: "GET", Path: "/v1/reports/transition", Roles: []string{access.RoleFinance, access.RoleAdmin, access.RoleReviewer}, Scope: "reviewer: own payer's shares", Summary: "Cost by month and payer type, the state's share, encounters, patients (counts below 5 suppressed, with complementary suppression)",
			Query: []param{{Name: "from", Required: true, Format: fmtMonth}, {Name: "to", Required: true, Format: fmtMonth}, {Name: "by", Description: "how to group each month; none by default", Vocab: "by"}}, Status: 200, Result: reports.TransitionReport{}, Handler: transitionReport(rp)},
		{Method: "POST", Path: "/v1/reports/simulations", Roles: ledgerRead, Summary: "What-if schedule: re-split the posted lines of past months under proposed cost-share rules (and tariff changes per category), per month and payer against the actual split; writes nothing",
			Body: simulationRequest{}, Status: 200, Result: reports.Simulation{}, Handler: simulate(rp)},
		{Method: "GET", Path: "/v1/reports/parity", Roles: []string{access.RoleFinance, access.RoleAdmin, access.RoleReviewer}, Scope: "reviewer: own payer only", Summary: "Per service, the lines a state fund shares priced above, at and below the fund's own tariff for insured citizens on the same date",
			Query: []param{{Name: "from", Required: true, Format: fmtMonth}, {Name: "to", Required: true, Format: fmtMonth}, {Name: "payer_code", Description: "the state fund; a reviewer's own payer by default"}}, Status: 200, Result: reports.ParityReport{}, Handler: parityReport(rp)},
		{Method: "GET", Path: "/v1/reports/reconciliation", Roles: []string{access.RoleFinance, access.RoleAdmin, access.RoleReviewer}, Scope: "reviewer: own payer", Summary: "Claimed, approved, rejected, paid, outstanding per statement, and the ledger check",
			Query: []param{{Name: "period", Format: fmtMonth}, {Name: "payer_code"}, {Name: "provider_code"}}, Status: 200, Result: reports.Reconciliation{}, Handler: reconciliationReport(rp)},
		{Method: "GET", Path: "/v1/reports/payers", Roles: []string{access.RoleFinance, access.RoleAdmin, access.RoleReviewer}, Scope: "reviewer: own payer", Summary: "How each fund keeps up with the statements of the months: received, days to review and to payment (median and 90th percentile, nearest rank), rejections by reason, re-routed amounts, budget use, outstanding by age",
			Query: []param{{Name: "from", Required: true, Format: fmtMonth}, {Name: "to", Required: true, Format: fmtMonth}, {Name: "as_of", Description: "the day outstanding amounts are aged to; today by default", Format: fmtDate}}, Status: 200, Result: reports.PayerReport{}, Handler: payerReport(rp)},
		{Method: "POST", Path: "/v1/bulletins", Roles: financeOnly, Summary: "Publish a month's bulletin: freeze its transition report rows (every grouping) with the ledger's chain head; one per month", Body: bulletinRequest{}, Status: 201, Result: reports.Bulletin{}, Handler: publishBulletin(bl)},
		{Method: "GET", Path: "/v1/bulletins", Roles: ledgerRead, Summary: "Published bulletins, newest month first, without their rows", Status: 200, Result: list[reports.BulletinSummary]{}, Handler: listBulletins(bl)},
		{Method: "GET", Path: "/v1/bulletins/:period", Roles: ledgerRead, Summary: "A month's bulletin as published, with its restatement when lines posted, voided or repriced later changed the month (null while nothing did)", Status: 200, Result: reports.Bulletin{}, Handler: getBulletin(bl)},
		{Method: "GET", Path: "/v1/bulletins/:period/verify", Roles: ledgerRead, Summary: "Recompute the ledger's hash chain up to the bulletin's head and check the bulletin's rows against their hash", Status: 200, Result: reports.BulletinVerification{}, Handler: verifyBulletin(bl)},
		{Method: "GET", Path: "/v1/bulletins/:period/export.pdf", Roles: ledgerRead, Summary: "The bulletin as a printable PDF, in the reader's language",
			Query:    []param{{Name: "lang", Description: "the language to print in; without it the best of Accept-Language, else bs", Vocab: "locale"}},
			Produces: "application/pdf", Status: 200, Handler: bulletinPDF(bl)},

		{Method: "GET", Path: "/v1/users", Roles: adminOnly, Summary: "People's accounts for the web application (never their passwords)", Status: 200, Result: list[access.User]{}, Handler: listUsers(s.cfg.Users)},
		{Method: "POST", Path: "/v1/users", Roles: adminOnly, Summary: "Create a person's account; without a password one is generated and shown once", Body: userRequest{}, Status: 201, Result: userResponse{}, Handler: createUser(s.cfg.Users)},
		{Method: "POST", Path: "/v1/users/:username/password", Roles: adminOnly, Summary: "Set or reset a person's password (generated when none is given, shown once); ends their sessions", Body: passwordRequest{}, Status: 200, Result: passwordResponse{}, Handler: setPassword(s.cfg.Users)},
		{Method: "GET", Path: "/v1/tokens", Roles: adminOnly, Summary: "Tokens (never their secrets)", Status: 200, Result: list[access.Token]{}, Handler: listTokens(s.cfg.Tokens)},
		{Method: "POST", Path: "/v1/tokens", Roles: adminOnly, Summary: "Issue a token; the secret is shown once", Body: tokenRequest{}, Status: 201, Result: tokenResponse{}, Handler: createToken(s.cfg.Tokens)},
		{Method: "GET", Path: "/v1/audit", Roles: adminOnly, Summary: "The audit log, newest first", Query: []param{{Name: "actor", Description: "token id"}, {Name: "action"}, {Name: "object", Description: "an object id"}, {Name: "from", Format: fmtTime}, {Name: "to", Format: fmtTime}, {Name: "cursor"}, {Name: "limit", Format: fmtInteger, Max: 500}}, Status: 200, Result: list[access.AuditEntry]{}, Handler: auditLog(s.cfg.Tokens)},
		{Method: "DELETE", Path: "/v1/tokens/:id", Roles: adminOnly, Summary: "Revoke a token", Status: 204, Handler: revokeToken(s.cfg.Tokens)},
	}
}
