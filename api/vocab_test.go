package api_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/trcledger/trcledger/api"
	"github.com/trcledger/trcledger/internal/pgtest"
)

// TestVocabulariesMatchTheSQLChecks compares every enumeration of the API (the Go declarations
// that feed the validator and the OpenAPI enums) with the CHECK constraints of the migrated
// schema, read from pg_constraint: the same set of values on both sides. A CHECK that lists
// values and is not paired with a vocabulary here fails the test too.
func TestVocabulariesMatchTheSQLChecks(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	type check struct{ column, vocab string }
	same := map[string]check{ // the CHECK lists exactly the vocabulary
		"api_tokens_role_check":                       {"role", "role"},
		"users_role_check":                            {"role", "role"},
		"users_locale_check":                          {"locale", "locale"},
		"icd10_titles_locale_check":                   {"locale", "locale"},
		"contracts_status_check":                      {"status", "contract_status"},
		"cost_share_rules_beneficiary_category_check": {"beneficiary_category", "beneficiary_category"},
		"cost_share_rules_service_category_check":     {"service_category", "category"},
		"encounters_kind_check":                       {"kind", "kind"},
		"encounters_sex_check":                        {"sex", "sex"},
		"encounters_status_check":                     {"status", "encounter_status"},
		"organizations_kind_check":                    {"kind", "organization_kind"},
		"organizations_level_check":                   {"level", "level"},
		"organizations_payer_type_check":              {"payer_type", "payer_type"},
		"services_category_check":                     {"category", "category"},
		"services_unit_check":                         {"unit", "unit"},
		"sites_kind_check":                            {"kind", "site_kind"},
		"statement_lines_decision_check":              {"decision", "decision"},
		"statement_lines_reason_check":                {"reason_code", "reason_code"},
		"statements_status_check":                     {"status", "statement_status"},
		"tariff_items_method_check":                   {"method", "method"},
		"reference_tariff_items_method_check":         {"method", "method"},
		"contract_caps_period_check":                  {"period", "cap_period"},
		"contract_caps_mode_check":                    {"mode", "cap_mode"},
		"appeals_status_check":                        {"status", "appeal_status"},
		"appeals_reason_check":                        {"reason", "appeal_reason"},
		"periods_status_check":                        {"status", "period_status"},
		"period_events_action_check":                  {"action", "period_action"},
		"import_jobs_state_check":                     {"state", "import_job_state"},
	}
	subset := map[string]check{ // the CHECK names some values of the vocabulary
		"api_tokens_binding_check":     {"role", "role"},
		"users_binding_check":          {"role", "role"},
		"encounters_void_check":        {"status", "encounter_status"},
		"contract_caps_overflow_check": {"mode", "cap_mode"},
		"appeals_decided_check":        {"status", "appeal_status"},
		"period_events_reason_check":   {"action", "period_action"},
		"import_jobs_finished_check":   {"state", "import_job_state"},
	}
	// Vocabularies with no list in SQL: currencies are checked against the column's pattern below;
	// referral levels, line flags and report groupings live in columns without a CHECK.
	// A bulk decision's values are a subset of decision, and its selection is no column at all.
	goOnly := []string{"by", "currency", "flag", "to_level", "bulk_decision", "bulk_where", "appeal_outcome"}

	vocab := api.Vocabularies()
	//nolint:sqlclosecheck // closed by the defer below; the linter does not follow *sqlx.Rows
	rows, err := db.Queryx(`SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
		WHERE contype = 'c' AND connamespace = 'public'::regnamespace ORDER BY conname`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	listsValues := regexp.MustCompile(`= ANY \(ARRAY\[|= '[^']*'::text`)
	covered := map[string]bool{}
	var currencyPatterns []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, "_currency_check") {
			currencyPatterns = append(currencyPatterns, regexp.MustCompile(`'(\^[^']*)'`).FindStringSubmatch(def)[1])
			continue
		}
		c, exact := same[name]
		if !exact {
			c = subset[name]
		}
		if c.vocab == "" {
			if listsValues.MatchString(def) {
				t.Errorf("%s lists values but no vocabulary is paired with it: %s", name, def)
			}
			continue
		}
		covered[name] = true
		sql := checkValues(def, c.column)
		goValues := vocab[c.vocab]
		if len(sql) == 0 {
			t.Errorf("%s: no values of %s found in %s", name, c.column, def)
		}
		for _, v := range sql {
			if !slices.Contains(goValues, v) {
				t.Errorf("%s allows %q, which the vocabulary %s lacks", name, v, c.vocab)
			}
		}
		if exact {
			for _, v := range goValues {
				if !slices.Contains(sql, v) {
					t.Errorf("the vocabulary %s has %q, which %s refuses", c.vocab, v, name)
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, m := range []map[string]check{same, subset} {
		for name := range m {
			if !covered[name] {
				t.Errorf("no CHECK constraint %s in the schema", name)
			}
		}
	}
	if len(currencyPatterns) == 0 {
		t.Error("no currency CHECK constraint found")
	}
	for _, p := range currencyPatterns {
		for _, cur := range vocab["currency"] {
			if !regexp.MustCompile(p).MatchString(cur) {
				t.Errorf("currency %q does not match the column's CHECK %s", cur, p)
			}
		}
	}
	// Every vocabulary is either paired with a CHECK or known to have none.
	paired := map[string]bool{}
	for _, c := range same {
		paired[c.vocab] = true
	}
	for name := range vocab {
		if !paired[name] && !slices.Contains(goOnly, name) {
			t.Errorf("vocabulary %s is compared with no CHECK constraint", name)
		}
	}
}

// checkValues returns the literals a CHECK definition compares column with, as PostgreSQL
// prints them: column = ANY (ARRAY['a'::text, ...]) and column = 'a'::text.
func checkValues(def, column string) []string {
	var out []string
	col := regexp.QuoteMeta(column)
	for _, m := range regexp.MustCompile(`\(`+col+` = ANY \(ARRAY\[([^\]]*)\]\)\)`).FindAllStringSubmatch(def, -1) {
		for _, lit := range regexp.MustCompile(`'([^']*)'::text`).FindAllStringSubmatch(m[1], -1) {
			out = append(out, lit[1])
		}
	}
	for _, m := range regexp.MustCompile(`\(`+col+` = '([^']*)'::text\)`).FindAllStringSubmatch(def, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestRequestsAreCheckedAgainstTheVocabularies: the validator refuses a value outside a
// vocabulary and names the vocabulary's values, as the OpenAPI enum lists them.
func TestRequestsAreCheckedAgainstTheVocabularies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.do("POST", "/v1/tokens", "admin", `{"name":"x","role":"root"}`)
	res.isProblem(t, 422)
	if want := "must be one of " + strings.Join(api.Vocabularies()["role"], ", "); !strings.Contains(res.raw, want) {
		t.Errorf("answer %s does not say %q", res.raw, want)
	}
	res = e.do("POST", "/v1/services", "admin", `{"code":"X-1","name":"x","category":"magic","unit":"parsec"}`)
	res.isProblem(t, 422)
	if !sameSet(res.fields(), []string{"category", "unit"}) {
		t.Errorf("fields %v: %s", res.fields(), res.raw)
	}
}
