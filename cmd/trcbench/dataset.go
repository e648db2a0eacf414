package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// The benchmark's world: 10 providers in two cantons, the 4 payers of DESIGN.md section 10,
// and a cost-share schedule that moves primary care from IOM onto the cantons' funds during
// 2025, the 12 months of the dataset. Everything else (single posts, batches) is dated January
// 2026, outside those 12 months, so that statements and the transition report run over exactly
// the imported lines. All dates are fixed, so the dataset is the same whatever day it runs.
const (
	datasetYear  = 2025
	extraMonth   = "2026-01" // single posts and batches
	contractFrom = "2024-01-01"
)

type provider struct {
	Code, Name, Level, Jurisdiction, Fund string
	Sites                                 []string
	Weight                                float64 // share of the dataset's lines
	PointValue                            string  // hospital tariffs are in points
}

func (p provider) contract() string { return "BENCH-" + p.Code }
func (p provider) hospital() bool   { return p.Level != "primary" }

var providers = []provider{
	{"DZ-BIHAC", "JU Dom zdravlja Bihać", "primary", "BA-FBIH-USK", "ZZO-USK", []string{"TRC-LIPA", "TRC-BORICI", "MOBILE-USK"}, 0.22, ""},
	{"DZ-VKLADUSA", "JU Dom zdravlja Velika Kladuša", "primary", "BA-FBIH-USK", "ZZO-USK", []string{"TRC-MIRAL"}, 0.12, ""},
	{"DZ-CAZIN", "JU Dom zdravlja Cazin", "primary", "BA-FBIH-USK", "ZZO-USK", []string{"TRC-BORICI", "MOBILE-USK"}, 0.08, ""},
	{"DZ-BKRUPA", "JU Dom zdravlja Bosanska Krupa", "primary", "BA-FBIH-USK", "ZZO-USK", []string{"MOBILE-USK"}, 0.05, ""},
	{"KB-BIHAC", "JZU Kantonalna bolnica Bihać", "secondary", "BA-FBIH-USK", "ZZO-USK", []string{"HF-KBBIHAC"}, 0.08, "1.00"},
	{"DZ-KS", "JU Dom zdravlja Kantona Sarajevo", "primary", "BA-FBIH-KS", "ZZO-KS", []string{"TRC-USIVAK", "TRC-BLAZUJ", "MOBILE-KS"}, 0.18, ""},
	{"DZ-HADZICI", "JU Dom zdravlja Hadžići", "primary", "BA-FBIH-KS", "ZZO-KS", []string{"TRC-BLAZUJ"}, 0.10, ""},
	{"DZ-ILIDZA", "JU Dom zdravlja Ilidža", "primary", "BA-FBIH-KS", "ZZO-KS", []string{"TRC-USIVAK"}, 0.07, ""},
	{"OB-KS", "JU Opća bolnica Prim. dr. Abdulah Nakaš", "secondary", "BA-FBIH-KS", "ZZO-KS", []string{"HF-OBKS"}, 0.05, "1.00"},
	{"KCUS", "Klinički centar Univerziteta u Sarajevu", "tertiary", "BA-FBIH-KS", "ZZO-KS", []string{"HF-KCUS"}, 0.05, "0.90"},
}

type payer struct{ Code, Name, Type, Jurisdiction string }

var payers = []payer{
	{"IOM", "IOM Bosnia and Herzegovina", "international", "BA"},
	{"ZZO-USK", "Zavod zdravstvenog osiguranja Unsko-sanskog kantona", "state_fund", "BA-FBIH-USK"},
	{"ZZO-KS", "Zavod zdravstvenog osiguranja Kantona Sarajevo", "state_fund", "BA-FBIH-KS"},
	{"MSB", "Ministarstvo sigurnosti BiH", "government", "BA"},
}

type site struct{ Code, Name, Kind, Jurisdiction string }

var sites = []site{
	{"TRC-LIPA", "TRC Lipa", "trc", "BA-FBIH-USK"},
	{"TRC-BORICI", "TRC Borići", "trc", "BA-FBIH-USK"},
	{"TRC-MIRAL", "TRC Miral", "trc", "BA-FBIH-USK"},
	{"MOBILE-USK", "Mobile medical team Una-Sana", "mobile", "BA-FBIH-USK"},
	{"HF-KBBIHAC", "Kantonalna bolnica Bihać", "health_facility", "BA-FBIH-USK"},
	{"TRC-BLAZUJ", "TRC Blažuj", "trc", "BA-FBIH-KS"},
	{"TRC-USIVAK", "TRC Ušivak", "trc", "BA-FBIH-KS"},
	{"MOBILE-KS", "Mobile medical team Sarajevo", "mobile", "BA-FBIH-KS"},
	{"HF-OBKS", "Opća bolnica Sarajevo", "health_facility", "BA-FBIH-KS"},
	{"HF-KCUS", "KCUS", "health_facility", "BA-FBIH-KS"},
}

type service struct {
	Code, Name, Category, Unit string
	RequiresReferral           bool
}

var services = []service{
	{"PZZ-01", "GP consultation", "primary_care", "visit", false},
	{"PZZ-02", "Follow-up visit", "primary_care", "visit", false},
	{"PZZ-03", "Emergency examination", "emergency", "visit", false},
	{"PZZ-04", "Wound dressing", "primary_care", "item", false},
	{"PZZ-07", "Mental-health screening", "mental_health", "visit", false},
	{"DEN-01", "Tooth extraction", "dental", "item", false},
	{"LAB-01", "Complete blood count", "diagnostics", "item", false},
	{"RTG-01", "Chest X-ray", "diagnostics", "item", false},
	{"SKZ-01", "Specialist consultation on referral", "specialist", "visit", true},
	{"TRN-01", "Ambulance transport", "transport", "km", false},
	{"BOL-01", "Hospital case", "hospital", "case", true},
}

// tariffItem is an item of a tariff version as the API takes it.
type tariffItem struct {
	ServiceCode string `json:"service_code"`
	Method      string `json:"method"`
	Price       string `json:"price,omitempty"`
	Points      string `json:"points,omitempty"`
	MaxQuantity string `json:"max_quantity,omitempty"`
}

func primaryTariff() []tariffItem {
	return []tariffItem{
		{"PZZ-01", "fixed", "20", "", ""}, {"PZZ-02", "fixed", "12", "", ""}, {"PZZ-03", "fixed", "35", "", ""},
		{"PZZ-04", "fixed", "10", "", "5"}, {"PZZ-07", "fixed", "25", "", ""}, {"DEN-01", "fixed", "25", "", "4"},
		{"LAB-01", "fixed", "6", "", "10"}, {"RTG-01", "fixed", "25", "", ""}, {"TRN-01", "fixed", "1.80", "", "400"},
	}
}

func hospitalTariff() []tariffItem {
	return []tariffItem{
		{"SKZ-01", "points", "", "40", ""}, {"RTG-01", "points", "", "25", ""}, {"LAB-01", "points", "", "6", "10"},
		{"PZZ-03", "fixed", "35", "", ""}, {"BOL-01", "fixed", "1200", "", "1"}, {"TRN-01", "fixed", "1.80", "", "400"},
	}
}

type share struct {
	PayerCode   string `json:"payer_code"`
	BasisPoints int    `json:"basis_points"`
}

// costShare is a cost-share rule as the API takes it.
type costShare struct {
	EffectiveFrom       string  `json:"effective_from"`
	EffectiveTo         *string `json:"effective_to,omitempty"`
	ServiceCategory     *string `json:"service_category,omitempty"`
	BeneficiaryCategory *string `json:"beneficiary_category,omitempty"`
	Shares              []share `json:"shares"`
}

func sp(s string) *string { return &s }

// schedule is the transition of a provider's contract: IOM pays everything by default; the
// canton's fund takes primary care over step by step during 2025 (all of it for asylum
// seekers), half of diagnostics, part of dental; in hospitals the fund takes half of specialist
// care and the Ministry of Security half of hospital cases.
func schedule(p provider) []costShare {
	fund := p.Fund
	split := func(from string, to *string, cat *string, fundBP int) costShare {
		return costShare{EffectiveFrom: from, EffectiveTo: to, ServiceCategory: cat,
			Shares: []share{{fund, fundBP}, {"IOM", 10000 - fundBP}}}
	}
	rules := []costShare{{EffectiveFrom: contractFrom, Shares: []share{{"IOM", 10000}}}}
	if !p.hospital() {
		pc := sp("primary_care")
		return append(rules,
			split(contractFrom, sp("2025-04-01"), pc, 2000),
			split("2025-04-01", sp("2025-07-01"), pc, 4000),
			split("2025-07-01", sp("2025-10-01"), pc, 6000),
			split("2025-10-01", nil, pc, 8000),
			split("2025-01-01", nil, sp("diagnostics"), 5000),
			split("2025-07-01", nil, sp("dental"), 3000),
			costShare{EffectiveFrom: contractFrom, ServiceCategory: pc, BeneficiaryCategory: sp("asylum_seeker"), Shares: []share{{fund, 10000}}},
		)
	}
	return append(rules,
		split("2025-01-01", nil, sp("specialist"), 5000),
		split("2025-07-01", nil, sp("diagnostics"), 4000),
		costShare{EffectiveFrom: "2025-01-01", ServiceCategory: sp("hospital"), Shares: []share{{"MSB", 5000}, {"IOM", 5000}}},
	)
}

// The encounter as POST /v1/encounters takes it.
type referral struct {
	Number         string `json:"number"`
	ToLevel        string `json:"to_level"`
	ToProviderCode string `json:"to_provider_code,omitempty"`
}

type line struct {
	ServiceCode string `json:"service_code"`
	Quantity    string `json:"quantity"`
}

type encounter struct {
	ContractCode        string    `json:"contract_code"`
	SiteCode            string    `json:"site_code"`
	ExternalID          string    `json:"external_id"`
	PatientID           string    `json:"patient_id"`
	BeneficiaryCategory string    `json:"beneficiary_category"`
	Sex                 string    `json:"sex,omitempty"`
	BirthYear           int       `json:"birth_year,omitempty"`
	ServiceDate         string    `json:"service_date"`
	Kind                string    `json:"kind"`
	Diagnoses           []string  `json:"diagnoses"`
	Referral            *referral `json:"referral,omitempty"`
	PractitionerRef     string    `json:"practitioner_ref,omitempty"`
	Lines               []line    `json:"lines"`
}

var diagnoses = []string{"J06.9", "J20.9", "K02.9", "S61.0", "R50.9", "F43.1", "T14.1", "L02.4", "M54.5", "Z00.0", "B86", "A09.9"}

// gen draws encounters of one provider; every draw depends only on the seed and the names of
// what is drawn, so the dataset is reproducible.
type gen struct {
	p        provider
	pi       int
	r        *rand.Rand
	patients int // size of the provider's patient pool
}

func newGen(seed uint64, pi int, stream string, patients int) *gen {
	h := uint64(14695981039346656037)
	for _, c := range []byte(stream) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	//nolint:gosec // pi is a small index; this only mixes bits
	return &gen{p: providers[pi], pi: pi, r: rand.New(rand.NewPCG(seed, h^uint64(pi)<<56)), patients: max(patients, 50)}
}

// patient returns a patient of the pool with the attributes that patient always has.
func (g *gen) patient(e *encounter) {
	n := g.r.IntN(g.patients)
	h := uint64(n)*0x9E3779B97F4A7C15 + uint64(g.pi) //nolint:gosec // n and pi are small indexes; this only mixes bits
	h ^= h >> 29
	e.PatientID = fmt.Sprintf("SFA-%02d-%07d", g.pi, n)
	e.Sex = []string{"M", "M", "M", "F", "X"}[h%5]
	e.BirthYear = 1960 + int(h>>8%50)
	switch c := h >> 16 % 100; {
	case c < 60:
		e.BeneficiaryCategory = "irregular_migrant"
	case c < 85:
		e.BeneficiaryCategory = "asylum_seeker"
	case c < 93:
		e.BeneficiaryCategory = "unknown"
	case c < 98:
		e.BeneficiaryCategory = "refugee"
	default:
		e.BeneficiaryCategory = "subsidiary_protection"
	}
}

func (g *gen) chance(pct int) bool { return g.r.IntN(100) < pct }

func (g *gen) qty(lo, hi int) string { return strconv.Itoa(lo + g.r.IntN(hi-lo+1)) }

func (g *gen) km() string { return fmt.Sprintf("%d.%d", 5+g.r.IntN(120), g.r.IntN(10)) }

func (g *gen) diag(e *encounter) {
	e.Diagnoses = []string{diagnoses[g.r.IntN(len(diagnoses))]}
	if g.chance(25) {
		if d := diagnoses[g.r.IntN(len(diagnoses))]; d != e.Diagnoses[0] {
			e.Diagnoses = append(e.Diagnoses, d)
		}
	}
}

// encounter draws one encounter (without date and external id) with the service mix of the
// provider's level.
func (g *gen) encounter() encounter {
	p := g.p
	e := encounter{ContractCode: p.contract(), SiteCode: p.Sites[g.r.IntN(len(p.Sites))], Diagnoses: []string{}}
	g.patient(&e)
	if g.chance(70) {
		e.PractitionerRef = fmt.Sprintf("dr-%02d-%02d", g.pi, g.r.IntN(12))
	}
	add := func(code, q string) { e.Lines = append(e.Lines, line{code, q}) }
	k := g.r.IntN(100)
	if !p.hospital() {
		switch {
		case k < 45:
			e.Kind = "consultation"
			g.diag(&e)
			add("PZZ-01", "1")
			if g.chance(40) {
				add("LAB-01", g.qty(1, 3))
			}
			if g.chance(20) {
				add("PZZ-04", g.qty(1, 2))
			}
			if g.chance(10) {
				add("RTG-01", "1")
			}
			if g.chance(5) {
				add("PZZ-07", "1")
			}
		case k < 70:
			e.Kind = "follow_up"
			add("PZZ-02", "1")
			if g.chance(30) {
				add("PZZ-04", g.qty(1, 3))
			}
		case k < 80:
			e.Kind = "emergency"
			g.diag(&e)
			add("PZZ-03", "1")
			if g.chance(40) {
				add("PZZ-04", g.qty(1, 3))
			}
			if g.chance(30) {
				add("LAB-01", g.qty(1, 2))
			}
			if g.chance(30) {
				add("TRN-01", g.km())
			}
		case k < 88:
			e.Kind = "other"
			add("DEN-01", g.qty(1, 2))
		case k < 95:
			e.Kind = "consultation"
			e.Diagnoses = []string{"F43.1"}
			add("PZZ-07", "1")
			add("PZZ-01", "1")
		default:
			e.Kind = "transport"
			add("TRN-01", g.km())
		}
		return e
	}
	level := p.Level
	ref := func() {
		e.Referral = &referral{Number: fmt.Sprintf("UP-%02d-%06d", g.pi, g.r.IntN(1000000)), ToLevel: level, ToProviderCode: p.Code}
	}
	switch {
	case k < 55:
		e.Kind = "referral"
		g.diag(&e)
		ref()
		add("SKZ-01", "1")
		if g.chance(50) {
			add("RTG-01", "1")
		}
		if g.chance(60) {
			add("LAB-01", g.qty(1, 4))
		}
	case k < 85:
		e.Kind = "emergency"
		g.diag(&e)
		add("PZZ-03", "1")
		if g.chance(50) {
			add("LAB-01", g.qty(1, 3))
		}
		if g.chance(30) {
			add("RTG-01", "1")
		}
		if g.chance(20) {
			add("TRN-01", g.km())
		}
	default:
		e.Kind = "referral"
		g.diag(&e)
		ref()
		add("BOL-01", "1")
		add("LAB-01", g.qty(2, 6))
		if g.chance(50) {
			add("SKZ-01", "1")
		}
	}
	return e
}

// single draws the encounter of a single post: three lines, each split between the canton's
// fund and IOM, on a day of extraMonth.
func (g *gen) single(extID string) encounter {
	e := encounter{ContractCode: g.p.contract(), SiteCode: g.p.Sites[g.r.IntN(len(g.p.Sites))], ExternalID: extID,
		ServiceDate: fmt.Sprintf("%s-%02d", extraMonth, 1+g.r.IntN(31)), Kind: "consultation", Diagnoses: []string{"J06.9"}}
	g.patient(&e)
	e.BeneficiaryCategory = "irregular_migrant" // asylum seekers' primary care is the fund's alone
	if g.p.hospital() {
		e.Kind = "referral"
		e.Referral = &referral{Number: "UP-" + extID, ToLevel: g.p.Level}
		e.Lines = []line{{"SKZ-01", "1"}, {"LAB-01", "2"}, {"RTG-01", "1"}}
	} else {
		e.Lines = []line{{"PZZ-01", "1"}, {"LAB-01", "2"}, {"PZZ-04", "1"}}
	}
	return e
}

// month generates about target lines of the provider in month (YYYY-MM), dated evenly through
// the month in order, with external ids prefix-provider-month-n. The last encounter is cut so
// that the total is exactly target.
func (g *gen) month(prefix, month string, target int) []encounter {
	var out []encounter
	n := 0
	for n < target {
		e := g.encounter()
		if n+len(e.Lines) > target {
			e.Lines = e.Lines[:target-n]
		}
		n += len(e.Lines)
		out = append(out, e)
	}
	first, _ := time.Parse("2006-01", month)
	days := first.AddDate(0, 1, -1).Day()
	for i := range out {
		out[i].ServiceDate = first.AddDate(0, 0, i*days/len(out)).Format("2006-01-02")
		out[i].ExternalID = fmt.Sprintf("%s-%s-%s-%06d", prefix, g.p.Code, strings.ReplaceAll(month, "-", ""), i+1)
	}
	return out
}

// seasonal weights of the months of the dataset: more arrivals in summer.
var seasonal = [12]float64{0.85, 0.8, 0.9, 1.0, 1.1, 1.15, 1.2, 1.2, 1.1, 1.0, 0.9, 0.85}

// split divides total into len(weights) whole parts proportional to weights (largest
// remainder), so that they add up to total exactly.
func split(total int, weights []float64) []int {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	out := make([]int, len(weights))
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, len(weights))
	left := total
	for i, w := range weights {
		x := float64(total) * w / sum
		out[i] = int(x)
		left -= out[i]
		rems[i] = rem{i, x - float64(out[i])}
	}
	for left > 0 {
		best := 0
		for j := range rems {
			if rems[j].r > rems[best].r {
				best = j
			}
		}
		out[rems[best].i]++
		rems[best].r = -1
		left--
	}
	return out
}

func providerWeights() []float64 {
	w := make([]float64, len(providers))
	for i, p := range providers {
		w[i] = p.Weight
	}
	return w
}

// importColumns is the header of the import files (claims.ImportColumns).
var importColumns = []string{"external_id", "contract_code", "site_code", "patient_id", "beneficiary_category", "sex",
	"birth_year", "service_date", "kind", "diagnoses", "referral_number", "referral_to_level", "referral_to_provider_code",
	"practitioner_ref", "corrects", "service_code", "quantity"}

// writeCSV writes encounters as import rows, one row per line.
func writeCSV(w io.Writer, header bool, encs []encounter) error {
	cw := csv.NewWriter(w)
	if header {
		if err := cw.Write(importColumns); err != nil {
			return err
		}
	}
	rec := make([]string, len(importColumns))
	for i := range encs {
		e := &encs[i]
		by := ""
		if e.BirthYear != 0 {
			by = strconv.Itoa(e.BirthYear)
		}
		var rn, rl, rp string
		if e.Referral != nil {
			rn, rl, rp = e.Referral.Number, e.Referral.ToLevel, e.Referral.ToProviderCode
		}
		copy(rec, []string{e.ExternalID, e.ContractCode, e.SiteCode, e.PatientID, e.BeneficiaryCategory, e.Sex, by,
			e.ServiceDate, e.Kind, strings.Join(e.Diagnoses, ";"), rn, rl, rp, e.PractitionerRef, ""})
		for _, l := range e.Lines {
			rec[15], rec[16] = l.ServiceCode, l.Quantity
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
